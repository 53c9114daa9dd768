"""``wsnb emulator serve``: run the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import threading
from typing import Any

import click

from .faults import FaultRule, Throttle
from .profile import PROFILES
from .server import Emulator
from .state import AuthMode, EmulatorConfig, UnknownIds


def build_emulator(
    *,
    host: str,
    port: int,
    db: str | None,
    seed: int,
    tasks: int,
    project_id: str | None,
    auth: AuthMode,
    unknown_ids: UnknownIds,
    reads_per_minute: int | None,
    writes_per_minute: int | None,
    retry_after: bool,
    fault_rate: float,
    fault_status: int,
    profile: str = "documented",
) -> Emulator:
    """The ``Emulator`` the ``serve`` options describe (not started)."""
    throttle = None
    if reads_per_minute or writes_per_minute:
        throttle = Throttle(
            reads_per_minute=reads_per_minute or Throttle.reads_per_minute,
            writes_per_minute=writes_per_minute or Throttle.writes_per_minute,
            retry_after=retry_after,
        )
    config = EmulatorConfig(
        db=db, auth=auth, unknown_ids=unknown_ids, throttle=throttle, profile=profile
    )
    if project_id:
        config.project_id = project_id
    emu = Emulator(seed=seed, tasks=tasks, host=host, port=port, config=config)
    if fault_rate > 0:
        emu.state.faults.add(FaultRule(probability=fault_rate, status=fault_status))
    return emu


@click.group()
def emulator() -> None:
    """Run the local scheduled-tasks emulator."""


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=0, show_default=True, help="Port (0 picks a free one).")
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file (default: in memory).")
@click.option("--seed", default=0, show_default=True, help="RNG seed of the demo data.")
@click.option("--tasks", default=0, show_default=True, help="Demo tasks to create at start.")
@click.option("--project-id", help="Default project id (default: random).")
@click.option("--auth", type=click.Choice(["strict", "loose"]), default="strict", show_default=True)
@click.option(
    "--unknown-ids",
    type=click.Choice(["ignore", "reject"]),
    default="ignore",
    show_default=True,
    help="What batch-delete does with ids that do not exist.",
)
@click.option("--reads-per-minute", type=int, help="Throttle reads (429 APIG.0308 beyond).")
@click.option("--writes-per-minute", type=int, help="Throttle writes.")
@click.option("--retry-after/--no-retry-after", default=True, help="Send Retry-After on 429.")
@click.option("--fault-rate", default=0.0, help="Probability of an injected error per call.")
@click.option("--fault-status", default=500, show_default=True, help="Status of injected errors.")
@click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default="documented",
    show_default=True,
    help="Answer as the docs say, or with the shapes evidenced from the live service.",
)
def serve(**options: Any) -> None:
    """Serve the emulator until Ctrl-C, printing how to point wsnb at it."""
    emu = build_emulator(**options)
    with emu:
        click.echo(f"wsnb emulator listening on {emu.endpoint}")
        click.echo(
            f"project id: {emu.project_id}   auth: {emu.config.auth}"
            f"   profile: {emu.state.profile.name}"
        )
        click.echo("These are the emulator's own throwaway keys; export them to use it:")
        click.echo(f"  export WSNB_ENDPOINT={emu.endpoint}")
        click.echo(f"  export HUAWEICLOUD_SDK_AK={emu.ak}")
        click.echo(f"  export HUAWEICLOUD_SDK_SK={emu.sk}")
        click.echo(f"  export HUAWEICLOUD_SDK_PROJECT_ID={emu.project_id}")
        click.echo(f"  export WSNB_AUTH_TOKEN={emu.token}")
        click.echo("Press Ctrl-C to stop.", err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopping", err=True)
