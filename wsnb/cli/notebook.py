"""``wsnb run`` and ``wsnb demo``: the bundled notebooks from the command line.

``wsnb run cleanup -p dry_run false -p max_deletions 100 --output-dir out/`` executes
``scheduled_cleanup.ipynb`` with papermill, exports an input-free HTML copy with nbconvert and
prints the summary and where everything is. ``wsnb demo`` does the same against an emulator it
starts in-process, handing the kernel the emulator's endpoint and throwaway keys through the
environment (never as parameters): :func:`wsnb.runner.execute_notebook` gives them to the kernel
without touching this process's ``os.environ``. Parameters are checked by :mod:`wsnb.params`
before a kernel starts; the summary is :func:`wsnb.report.summary_text` of the ``report.json``
the notebook wrote.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from typing import Any

import click

from wsnb.cli._errors import CliError, ExitCode

__all__ = ["demo", "run"]

_DEMO_FILTERS: dict[str, Any] = {"expired_only": True}


def notebook_defaults(path: Path) -> dict[str, Any]:
    """The literal defaults of a notebook's ``parameters`` cell (as papermill sees them); a file
    that is not a readable notebook is a :class:`~wsnb.cli.CliError` (exit code 2)."""
    import papermill
    from nbformat import ValidationError

    try:
        parameters = papermill.inspect_notebook(str(path))
    except (ValueError, ValidationError, KeyError, AttributeError) as exc:  # NotJSONError, …
        raise CliError(f"{path} is not a readable Jupyter notebook: {exc}") from exc
    defaults: dict[str, Any] = {}
    for name, info in parameters.items():
        try:
            defaults[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            continue  # not a literal: the notebook computes it
    return defaults


def _check(path: Path, given: dict[str, Any]) -> None:
    """Fail fast, before a kernel starts: secrets, unknown names, and the cleanup rules."""
    from wsnb.params import ParameterError, check_no_secrets, cleanup_params
    from wsnb.runner import NOTEBOOKS

    check_no_secrets(given)
    defaults = notebook_defaults(path)
    unknown = sorted(set(given) - set(defaults))
    if defaults and unknown:
        raise ParameterError(
            f"{path.name} has no parameter(s) {unknown}; known: {sorted(defaults)}"
        )
    if path.name == NOTEBOOKS["cleanup"]:
        cleanup_params(**{**defaults, **given})


def _summary(output_dir: Path) -> str | None:
    """The summary of the ``report.json`` a notebook wrote into ``output_dir`` (if any)."""
    from wsnb.report import REPORT_FILES, summary_text

    report = output_dir / REPORT_FILES["json"]
    if not report.is_file():
        return None
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    return summary_text(summary, {kind: output_dir / name for kind, name in REPORT_FILES.items()})


def _title(output_dir: Path) -> str | None:
    """The export's title from the run's ``report.json`` (``wsnb cleanup report — project …
    (region) — date``), or None when the notebook wrote none."""
    from wsnb.report import REPORT_FILES, report_title

    report = output_dir / REPORT_FILES["json"]
    if not report.is_file():
        return None
    return report_title(json.loads(report.read_text(encoding="utf-8"))["summary"])


def run_notebook(
    name: str,
    parameters: dict[str, Any],
    output_dir: Path,
    *,
    kernel: str | None = None,
    html: bool = True,
    log_output: bool = False,
    env: dict[str, str | None] | None = None,
) -> tuple[Path, Path | None, BaseException | None]:
    """Execute and export one notebook; returns (notebook, html, the cell error if any)."""
    from jupyter_client.kernelspec import NoSuchKernel
    from papermill.exceptions import PapermillExecutionError

    from wsnb import runner

    path = runner.notebook_path(name)
    _check(path, parameters)
    output_dir.mkdir(parents=True, exist_ok=True)
    if "output_dir" in notebook_defaults(path):
        parameters = {"output_dir": str(output_dir), **parameters}
    executed = output_dir / path.name
    error: BaseException | None = None
    try:
        runner.execute_notebook(
            path, executed, parameters, env=env, kernel_name=kernel, log_output=log_output
        )
    except PapermillExecutionError as exc:
        error = exc
    except NoSuchKernel as exc:
        raise CliError(
            f"no Jupyter kernel named {exc.name!r}: 'jupyter kernelspec list' shows the"
            " installed ones (without --kernel, wsnb uses one running this Python)"
        ) from exc
    page = None
    if html:
        reports = Path(parameters.get("output_dir") or output_dir)
        page = runner.export_html(executed, executed.with_suffix(".html"), title=_title(reports))
    return executed, page, error


def _finish(executed: Path, page: Path | None, error: BaseException | None, out: Path) -> None:
    summary = _summary(out)
    if summary:
        click.echo(summary)
    click.echo(f"notebook: {executed}")
    if page is not None:
        click.echo(f"html (no input): {page}")
    if error is not None:
        ename = getattr(error, "ename", type(error).__name__)
        evalue = getattr(error, "evalue", str(error))
        raise CliError(f"the notebook failed: {ename}: {evalue}", ExitCode.NOT_OK)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("notebook")
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="A papermill parameter (True/False/None, numbers and [lists] are parsed). Repeatable.",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Where the executed notebook, its HTML and the report go.",
)
@click.option("--kernel", help="Kernel name (default: a kernel running this Python).")
@click.option("--html/--no-html", default=True, help="Export the run as input-free HTML.")
@click.option("--log-output", is_flag=True, help="Stream the notebook's output while it runs.")
def run(
    notebook: str,
    parameters: tuple[tuple[str, str], ...],
    output_dir: Path,
    kernel: str | None,
    html: bool,
    log_output: bool,
) -> None:
    """Run NOTEBOOK (cleanup, select, demo, or a path) through papermill.

    Credentials come from the environment or the SDK credentials file, never from -p.
    """
    from wsnb.params import ParameterError, parse_parameter

    given = {name: parse_parameter(value) for name, value in parameters}
    try:
        executed, page, error = run_notebook(
            notebook, given, output_dir, kernel=kernel, html=html, log_output=log_output
        )
    except (ParameterError, FileNotFoundError) as exc:
        raise click.UsageError(str(exc)) from None
    reports = Path(given["output_dir"]) if given.get("output_dir") else output_dir
    _finish(executed, page, error, reports)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/demo"),
    show_default=True,
)
@click.option(
    "--tasks",
    type=click.IntRange(0),
    default=300,
    show_default=True,
    help="Demo tasks in the emulator.",
)
@click.option("--seed", default=0, show_default=True, help="RNG seed of the demo data.")
@click.option(
    "--max-deletions",
    type=click.IntRange(0),
    default=100,
    show_default=True,
    help="Cap of the real deletion run.",
)
def demo(output_dir: Path, tasks: int, seed: int, max_deletions: int) -> None:
    """Start a seeded emulator, then run the cleanup notebook: a dry run, then a real run."""
    from wsnb.auth import CREDENTIAL_ENV_VARS
    from wsnb.emulator import Emulator
    from wsnb.report import REPORT_FILES
    from wsnb.runner import NOTEBOOKS

    ledger = output_dir / "ledger.sqlite"
    with Emulator(tasks=tasks, seed=seed) as emu:
        click.echo(f"emulator with {tasks} demo tasks at {emu.endpoint}")
        env: dict[str, str | None] = {name: None for name in CREDENTIAL_ENV_VARS}
        env.update(
            WSNB_ENDPOINT=emu.endpoint,
            WSNB_REGION=None,
            HUAWEICLOUD_SDK_AK=emu.ak,
            HUAWEICLOUD_SDK_SK=emu.sk,
            HUAWEICLOUD_SDK_PROJECT_ID=emu.project_id,
        )
        steps = (
            ("dry-run", {"dry_run": True}),
            ("run", {"dry_run": False, "max_deletions": max_deletions}),
        )
        for label, extra in steps:
            out = output_dir / label
            click.echo(f"\n== {label}: {NOTEBOOKS['cleanup']} ==")
            params = {**_DEMO_FILTERS, **extra, "ledger_path": os.fspath(ledger)}
            executed, page, error = run_notebook("cleanup", params, out, env=env)
            _finish(executed, page, error, out)
        remaining = len(emu.control.task_ids())
    click.echo(f"\n{remaining} of {tasks} tasks remain in the (now stopped) emulator.")
    click.echo(f"Report: {output_dir / 'run' / REPORT_FILES['html']}")
