"""Charts as inline SVG for the HTML report: no script and nothing fetched, so the page
reads offline and prints as it looks. Labels are escaped; sizes are in SVG user units."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

_BAR = "#2f6df6"
_SECOND = "#f29d38"
_INK = "#1d2433"
_MUTED = "#8a93a6"


def bars(items: Sequence[tuple[str, int]], *, title: str, width: int = 640) -> Markup:
    """Horizontal bars, one per (label, value), longest scaled to the width."""
    row, label_width = 26, 170
    height = row * len(items) + 30
    top = max((value for _, value in items), default=0) or 1
    parts = [_open(width, height, title)]
    for i, (label, value) in enumerate(items):
        y = 24 + i * row
        length = (width - label_width - 70) * value / top
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 13}" text-anchor="end" fill="{_INK}">'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{label_width}" y="{y}" width="{length:.1f}" height="{row - 8}"'
            f' fill="{_BAR}" rx="3"><title>{escape(label)}: {value:,}</title></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 13}" fill="{_INK}">{value:,}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
) -> Markup:
    """One polyline per named series over shared x labels (weeks, months), with a legend."""
    # The right margin holds half of the last x label, which is centred on its point.
    left, right, bottom, top_pad = 40, 30, 30, 30
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    peak = max((v for _, values in series for v in values), default=0) or 1
    step = plot_w / max(len(labels) - 1, 1)
    parts = [_open(width, height, title)]
    parts.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}"'
        f' stroke="{_MUTED}"/>'
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" fill="{_MUTED}">{peak:,}</text>'
    )
    for i, label in enumerate(labels):
        if len(labels) <= 12 or i % max(len(labels) // 8, 1) == 0:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - 10}" text-anchor="middle"'
                f' fill="{_MUTED}" font-size="10">{escape(label)}</text>'
            )
    for n, (name, values) in enumerate(series):
        colour = (_BAR, _SECOND)[n % 2]
        points = " ".join(
            f"{left + i * step:.1f},{height - bottom - plot_h * v / peak:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(
            f'<polyline class="line" points="{points}" fill="none" stroke="{colour}"'
            f' stroke-width="2"><title>{escape(name)}</title></polyline>'
            f'<rect x="{left + 10 + n * 140}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + 28 + n * 140}" y="18" fill="{_INK}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}"'
        f' width="100%" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif"'
        f' font-size="12"><title>{escape(title)}</title>'
    )


def intervals(
    items: Sequence[tuple[str, float | None, tuple[float, float] | None]],
    *,
    title: str,
    width: int = 640,
) -> Markup:
    """A point per arm with its confidence interval as a whisker, on a 0..max scale
    (rates as fractions, drawn as percentages)."""
    row, label_width = 30, 170
    height = row * len(items) + 30
    top = max((hi for _, _, ci in items if ci for hi in ci[1:]), default=0.0) or 1.0
    scale = (width - label_width - 80) / top
    parts = [_open(width, height, title)]
    for i, (label, value, ci) in enumerate(items):
        y = 30 + i * row
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 4}" text-anchor="end" fill="{_INK}">'
            f"{escape(label)}</text>"
        )
        if ci is not None:
            low, high = (label_width + v * scale for v in ci)
            parts.append(
                f'<line class="interval" x1="{low:.1f}" y1="{y}" x2="{high:.1f}" y2="{y}"'
                f' stroke="{_MUTED}" stroke-width="2"/>'
            )
        if value is not None:
            x = label_width + value * scale
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y}" r="5" fill="{_BAR}">'
                f"<title>{escape(label)}: {value:.1%}</title></circle>"
                f'<text x="{x + 10:.1f}" y="{y - 6}" fill="{_INK}">{value:.1%}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
