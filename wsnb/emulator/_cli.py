"""``wsnb emulator serve``: run the emulator in the foreground until Ctrl-C.

Every option is checked before anything starts (ranges by click; ``--db`` must be a new file
in an existing folder or an emulator database; a taken port is a usage error), so a bad option
is one ``Error:`` line with exit code 2. Keys: ``--ak/--sk/--token`` (or ``WSNB_EMULATOR_AK``,
``WSNB_EMULATOR_SK``, ``WSNB_EMULATOR_TOKEN``) win and are never printed; otherwise a file
``--db`` keeps the keys it minted on its first start (see :class:`~wsnb.emulator.Emulator`).
Keys are printed when they are new, or with ``--show-keys``.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import click

from .faults import FaultRule, Throttle
from .profile import PROFILES
from .server import Emulator
from .state import AuthMode, EmulatorConfig, UnknownIds

#: The tables of an emulator database (a SQLite file with other tables is someone else's).
_EMULATOR_TABLES = frozenset({"tasks", "records", "details", "meta"})


def check_db(path: str) -> None:
    """``click.BadParameter`` unless ``path`` can be (or already is) an emulator database."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise click.BadParameter(f"{path} is a folder; give a database file", param_hint="--db")
    if not target.parent.is_dir():
        raise click.BadParameter(
            f"the folder {target.parent} does not exist; create it or choose another path",
            param_hint="--db",
        )
    if not target.exists() or target.stat().st_size == 0:
        return
    try:
        with sqlite3.connect(f"{target.as_uri()}?mode=ro", uri=True) as con:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error as exc:
        raise click.BadParameter(
            f"{path} is not a SQLite database ({exc}); give a new file or an emulator's --db",
            param_hint="--db",
        ) from None
    foreign = {r[0] for r in rows} - _EMULATOR_TABLES
    foreign = {name for name in foreign if not name.startswith("sqlite_")}
    if foreign:
        raise click.BadParameter(
            f"{path} is another program's SQLite database (tables {sorted(foreign)[:5]}), not "
            "an emulator's; give a new file",
            param_hint="--db",
        )


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
    ak: str | None = None,
    sk: str | None = None,
    token: str | None = None,
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
    emu = Emulator(
        seed=seed, tasks=tasks, host=host, port=port, config=config, ak=ak, sk=sk, token=token
    )
    if fault_rate > 0:
        emu.state.faults.add(FaultRule(probability=fault_rate, status=fault_status))
    return emu


def _print_keys(emu: Emulator, show_keys: bool) -> None:
    """How to point wsnb at ``emu``: new keys always, stored ones on request, given ones never."""
    origin = emu.keys_origin
    shown = {
        kind
        for kind, where in origin.items()
        if where == "new" or (where == "stored" and show_keys)
    }
    click.echo("Export these to use it:")
    click.echo(f"  export WSNB_ENDPOINT={emu.endpoint}")
    if "aksk" in shown or origin["aksk"] == "given":
        click.echo(f"  export HUAWEICLOUD_SDK_AK={emu.ak}")
    if "aksk" in shown:
        click.echo(f"  export HUAWEICLOUD_SDK_SK={emu.sk}")
    click.echo(f"  export HUAWEICLOUD_SDK_PROJECT_ID={emu.project_id}")
    if "token" in shown:
        click.echo(f"  export WSNB_AUTH_TOKEN={emu.token}")
    stored = [label for kind, label in (("aksk", "AK/SK"), ("token", "token")) if
              origin[kind] == "stored" and kind not in shown]  # fmt: skip
    if stored:
        what = " and ".join(stored)
        click.echo(f"  # {what}: unchanged since the --db's first start (--show-keys prints them)")
    for kind, name in (("aksk", "HUAWEICLOUD_SDK_SK"), ("token", "WSNB_AUTH_TOKEN")):
        if origin[kind] == "given":
            click.echo(f"  # {name}: the one you gave (not shown)")
    if "new" in origin.values():
        click.echo("  # new throwaway keys" + (", stored in the --db" if emu.config.db else ""))


@click.group()
def emulator() -> None:
    """Run the local scheduled-tasks emulator."""


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port (0 picks a free one).",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="SQLite file: keeps tasks, project id and keys across restarts (default: in memory).",
)
@click.option("--seed", default=0, show_default=True, help="RNG seed of the demo data.")
@click.option(
    "--tasks",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Demo tasks to create at start (into an empty project).",
)
@click.option("--project-id", help="Default project id (default: the --db's, else random).")
@click.option("--auth", type=click.Choice(["strict", "loose"]), default="strict", show_default=True)
@click.option(
    "--unknown-ids",
    type=click.Choice(["ignore", "reject"]),
    default="ignore",
    show_default=True,
    help="What batch-delete does with ids that do not exist.",
)
@click.option(
    "--reads-per-minute", type=click.IntRange(1), help="Throttle reads (429 APIG.0308 beyond)."
)
@click.option("--writes-per-minute", type=click.IntRange(1), help="Throttle writes.")
@click.option("--retry-after/--no-retry-after", default=True, help="Send Retry-After on 429.")
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Probability (0-1) of an injected error per call.",
)
@click.option(
    "--fault-status",
    type=click.IntRange(400, 599),
    default=500,
    show_default=True,
    help="Status of injected errors (400-599).",
)
@click.option(
    "--ak",
    envvar="WSNB_EMULATOR_AK",
    show_envvar=True,
    help="Access key to accept (with --sk; default: stored/new).",
)
@click.option(
    "--sk",
    envvar="WSNB_EMULATOR_SK",
    show_envvar=True,
    help="Secret key to accept (never printed; prefer the env).",
)
@click.option("--token", envvar="WSNB_EMULATOR_TOKEN", help="IAM token to accept (never printed).")
@click.option("--show-keys", is_flag=True, help="Print stored keys too (new ones always are).")
@click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default="documented",
    show_default=True,
    help="Answer as the docs say, or with the shapes evidenced from the live service.",
)
def serve(show_keys: bool, **options: Any) -> None:
    """Serve the emulator until Ctrl-C, printing how to point wsnb at it."""
    if bool(options["ak"]) != bool(options["sk"]):
        raise click.UsageError("--ak and --sk go together (or WSNB_EMULATOR_AK/_SK)")
    if options["db"]:
        check_db(options["db"])
    try:
        emu = build_emulator(**options)
    except sqlite3.Error as exc:
        raise click.BadParameter(f"{options['db']}: {exc}", param_hint="--db") from None
    try:
        emu.start()
    except OSError as exc:
        emu.stop()
        where = f"{options['host']}:{options['port']}"
        raise click.UsageError(
            f"cannot listen on {where}: {exc.strerror or exc}; choose another --host/--port"
        ) from None
    with emu:
        click.echo(f"wsnb emulator listening on {emu.endpoint}")
        store = emu.config.db or "in memory"
        click.echo(
            f"project id: {emu.project_id}   auth: {emu.config.auth}"
            f"   profile: {emu.state.profile.name}   db: {store}"
        )
        _print_keys(emu, show_keys)
        click.echo("Press Ctrl-C to stop.", err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopping", err=True)
