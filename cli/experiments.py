"""`referral experiments size`: how many advocates a reward experiment needs before its
result means something."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from cli.errors import UserError, friendly
from cli.output import console, print_json
from referral.analytics.ratios import percent_text

experiments_app = typer.Typer(help="Reward-structure experiments.", no_args_is_help=True)


@experiments_app.command("size")
@friendly
def experiments_size(
    baseline: Annotated[
        float,
        typer.Option(
            help="The control arm's rate: advocates with a successful referral, e.g. 0.04."
        ),
    ],
    effect: Annotated[
        float,
        typer.Option(help="The smallest change worth detecting, e.g. 0.01 (4% -> 5%)."),
    ],
    relative: Annotated[
        bool, typer.Option(help="Read --effect as relative: 0.25 means 4% -> 5%.")
    ] = False,
    arms: Annotated[int, typer.Option(min=2, max=20, help="Arms, the control included.")] = 2,
    power: Annotated[float, typer.Option(help="Chance of detecting the effect.")] = 0.8,
    confidence: Annotated[float, typer.Option(help="1 - the false-alarm rate.")] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Advocates per arm for a two-sided test of the conversion rates. With more than one
    treatment arm, each comparison with the control is held to the confidence asked for
    (Bonferroni), as the report's per-arm tests assume."""
    # Imported here: scipy's start-up would otherwise slow every other `referral` command.
    from referral.experiments.sample_size import SizeMethod, sample_size

    comparisons = arms - 1
    try:
        size = sample_size(
            baseline=baseline,
            minimum_detectable_effect=effect,
            relative=relative,
            alpha=(1.0 - confidence) / comparisons,
            power=power,
            method=SizeMethod.POOLED,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    total = size.control + comparisons * size.treatment
    if as_json:
        print_json({**asdict(size), "arms": arms, "total": total})
        return
    console.print(
        f"to tell {percent_text(size.baseline)} from {percent_text(size.target)} "
        f"({power:.0%} power, {confidence:.0%} confidence per comparison):"
    )
    console.print(f"  control: {size.control:,} advocates")
    console.print(f"  each of {comparisons} treatment arm(s): {size.treatment:,} advocates")
    console.print(f"  in all: {total:,} advocates exposed")
