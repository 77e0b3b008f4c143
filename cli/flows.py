"""`referral run FLOW` and `referral up`: the flows now, or the whole local stack."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml

from cli.errors import UserError, friendly
from cli.output import console, print_json
from flows.registry import FLOWS, UnknownFlow, entrypoint, load

PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"


@contextmanager
def flows_here() -> Iterator[None]:
    """Flows called from this command run in this process, against Prefect's embedded API
    unless PREFECT_API_URL names a server. The embedded API lives and dies with the process,
    so no one is left to tell a crashed run by its missing heartbeats; without them, each
    flow also ends at once instead of waiting up to a second for the heartbeat thread to
    wake (eleven flows in a nightly chain). Against a real server they stay on."""
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    if get_current_settings().api.url:
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def parse_params(flow: Any, pairs: list[str]) -> dict[str, Any]:
    """`k=v` pairs checked against the flow's signature; values are JSON where they parse."""
    accepted = inspect.signature(flow.fn).parameters
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise UserError(f"--param {pair!r}: write it as name=value")
        if name not in accepted:
            raise UserError(f"--param {name}: {flow.name} takes {', '.join(accepted) or 'none'}")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw
    return params


@friendly
def run(
    flow_name: Annotated[str, typer.Argument(metavar="FLOW", help=f"One of: {', '.join(FLOWS)}")],
    param: Annotated[list[str] | None, typer.Option(help="name=value (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run one flow now (embedded Prefect unless PREFECT_API_URL points at a server)."""
    from config.settings import load_settings

    load_settings()  # a bad setting fails here, in one line
    try:
        flow = load(flow_name)
    except UnknownFlow as exc:
        raise UserError(str(exc)) from None
    params = parse_params(flow, param or [])
    with flows_here():
        result = flow(**params)
    if as_json:
        print_json(result)
    else:
        console.print(result)


@friendly
def up(
    port: Annotated[int, typer.Option(help="Port of the Prefect UI and API.")] = 4200,
    with_web: Annotated[
        bool, typer.Option("--web/--no-web", help="Also run the web service (`referral web`).")
    ] = True,
) -> None:
    """Start the Prefect server (UI on :4200), the web service, and serve every flow on its
    schedule."""
    from cli import context
    from db.migrate import upgrade

    # Scheduled runs start within minutes: the schema must be current before they do.
    upgrade(context.engine(context.settings(), require_current=False))
    api = f"http://127.0.0.1:{port}/api"
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "prefect", "server", "start", "--port", str(port)],
        # No telemetry: nothing here calls out to the internet.
        env={**os.environ, "PREFECT_API_URL": api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
        # Its own session: Ctrl-C reaches the runner first, which pauses its deployments on
        # the still-running server before we stop the server ourselves.
        start_new_session=True,
    )
    web: subprocess.Popen[bytes] | None = None
    try:
        _wait_for(f"{api}/health", server)
        os.environ["PREFECT_API_URL"] = api
        if with_web:
            # The web service starts the inbox flow through this Prefect API as events arrive.
            web = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "web"],
                env={**os.environ, "PREFECT_API_URL": api},
                start_new_session=True,
            )
        # Imported only now: Prefect reads its API address when its settings first load.
        from prefect import serve

        deployments = _deployments()
        settings = context.settings()
        console.print(
            f"Prefect UI: http://127.0.0.1:{port}  ·  serving {len(deployments)} flows"
            + (f"  ·  web: {settings.web.public_base_url} (API docs at /docs)" if web else "")
            + "; Ctrl-C stops everything"
        )
        serve(*deployments)
    except KeyboardInterrupt:
        pass
    finally:
        for process in (web, server):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


def _wait_for(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise UserError("the Prefect server stopped while starting; is the port in use?")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise UserError(f"the Prefect server did not answer at {url} within {seconds:.0f} s")


def _deployments() -> list[Any]:
    """The deployments of prefect.yaml, served from this process: one source of schedules."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    spec = yaml.safe_load(PREFECT_YAML.read_text())
    by_entrypoint = {entrypoint(name): name for name in FLOWS}
    deployments = []
    for item in spec["deployments"]:
        flow = load(by_entrypoint[item["entrypoint"]])
        crons = [s["cron"] for s in item.get("schedules", []) if "cron" in s]
        limit = item.get("concurrency_limit")
        deployments.append(
            flow.to_deployment(
                name=item["name"],
                cron=crons[0] if crons else None,
                parameters=item.get("parameters", {}),
                description=item.get("description"),
                # The same one-run-at-a-time rules as a `prefect deploy` of the file.
                concurrency_limit=ConcurrencyLimitConfig(
                    limit=limit["limit"],
                    collision_strategy=ConcurrencyLimitStrategy(limit["collision_strategy"]),
                )
                if limit
                else None,
            )
        )
    return deployments
