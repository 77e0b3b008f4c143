"""QR codes for referral links, as SVG for screens and print and PNG for email clients.

Error correction "m" (segno raises it when that costs no extra size) survives a smudged
poster or a sticker over a corner while keeping the symbol small. A border of 2 modules, below
the spec's 4, is enough in practice because the code is shown on a plain light background.
"""

from __future__ import annotations

import io
from typing import Final

import segno

_ERROR: Final = "m"
_BORDER: Final = 2


def qr_svg(url: str, *, scale: int = 4) -> bytes:
    """Return a standalone SVG document (with XML declaration) encoding `url`."""
    return _render(url, kind="svg", scale=scale, xmldecl=True, svgns=True)


def qr_png(url: str, *, scale: int = 8) -> bytes:
    """Return a PNG image encoding `url`; `scale` is pixels per module."""
    return _render(url, kind="png", scale=scale)


def _render(url: str, *, kind: str, scale: int, **options: bool) -> bytes:
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    # micro=False: Micro QR codes are smaller but many phone camera apps cannot read them.
    code = segno.make(url, error=_ERROR, micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind=kind, scale=scale, border=_BORDER, **options)
    return buffer.getvalue()
