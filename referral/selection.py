"""Which limits an identify run applies: the program's advocate selection, with the run's
own `top` and `min_score` taking precedence. Pure, so the rule is tested on its own."""

from __future__ import annotations

from dataclasses import dataclass

from referral.programs import AdvocateSelection

MAX_SCORE = 1000


@dataclass(frozen=True, slots=True)
class Limits:
    """Enrol the `top` best scores (None: no cap) among those at or above `min_score`
    (None: no threshold)."""

    top: int | None
    min_score: int | None


def limits(
    selection: AdvocateSelection, *, top: int | None = None, min_score: int | None = None
) -> Limits:
    """The selection is "the top N or everyone over a threshold": a top N, from the run or
    the program, stands alone and the program's threshold does not shrink it; a threshold
    passed with the run applies on top of any N."""
    if top is not None and top < 1:
        raise ValueError("top must be at least 1")
    if min_score is not None and not 0 <= min_score <= MAX_SCORE:
        raise ValueError(f"min_score must be between 0 and {MAX_SCORE}")
    chosen_top = top if top is not None else selection.top
    if min_score is not None:
        return Limits(chosen_top, min_score)
    return Limits(chosen_top, selection.min_score if chosen_top is None else None)
