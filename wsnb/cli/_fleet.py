"""The CLI's ``--fleet`` option and what the commands share about fleets.

Contract: ``--fleet FILE`` (or ``--fleet`` alone: ``wsnb.toml`` in the current folder) makes a
command work on every project of the fleet file; it excludes ``--endpoint``/``--region``/
``--project-id`` (a usage error). :func:`load` turns a bad fleet file into a usage error naming
the file and key. Fleet ids files hold ``project_id task_id`` per line (whitespace, ``,`` or
``:`` between them). Only click is imported at the top.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import click

from wsnb.cli._common import F, read_ids
from wsnb.cli._errors import CliError

if TYPE_CHECKING:
    from wsnb.cli._table import TableKind
    from wsnb.fleet import Fleet

__all__ = ["fleet_option", "fleet_table", "load", "read_fleet_ids"]

_DEFAULT = "wsnb.toml"


def fleet_option(fn: F) -> F:
    """``--fleet [FILE]``: every project of a fleet file (alone: ./wsnb.toml)."""
    return click.option(
        "--fleet",
        "fleet_file",
        is_flag=False,
        flag_value=_DEFAULT,
        default=None,
        metavar="FILE",
        help="Every project of this fleet file (TOML; '--fleet' alone: ./wsnb.toml). Excludes"
        " --endpoint/--region/--project-id.",
    )(fn)


def load(path: str, *connection: str | None) -> Fleet:
    """The fleet of ``path``; a usage error when connection options are given too or the file
    is unusable."""
    from wsnb.fleet import FleetFileError, load_fleet

    if any(connection):
        raise click.UsageError("--fleet excludes --endpoint, --region and --project-id")
    try:
        return load_fleet(path)
    except FleetFileError as exc:
        raise click.UsageError(str(exc)) from exc


def read_fleet_ids(path: str) -> dict[str, list[str]]:
    """``project_id task_id`` lines (``#`` comments and blank lines skipped) -> project -> ids."""
    out: dict[str, list[str]] = {}
    for n, line in enumerate(read_ids(path), 1):
        parts = [p for p in re.split(r"[\s,:]+", line.strip()) if p]
        if len(parts) != 2:
            raise CliError(f"{path}: line {n}: with --fleet each line is 'project_id task_id'")
        out.setdefault(parts[0], []).append(parts[1])
    return out


def fleet_table(kind: TableKind) -> TableKind:
    """``kind`` with the fleet's ``project_id`` and ``region`` columns first."""
    from wsnb.cli._table import Column, TableKind

    extra = (Column("project_id", "project", 10, drop=1), Column("region", "region", 6, drop=2))
    return TableKind((*extra, *kind.columns), kind.footer, kind.noun)


def count_by_project(selection: Any) -> dict[str, int]:
    """How many ids a fleet selection (a fleet frame or project -> ids) holds per project."""
    if isinstance(selection, dict):
        return {pid: len(ids) for pid, ids in selection.items()}
    levels = selection.index.get_level_values("project_id")
    return {str(k): int(v) for k, v in levels.value_counts(sort=False).items()}
