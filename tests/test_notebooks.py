"""scheduled_cleanup.ipynb through plain papermill and ``wsnb run``, against a running emulator.

Every output (executed notebooks, HTML, CSV, JSON, captured logs) goes under the session's
``notebook-runs`` folder, which ``tests/test_secrets.py`` scans for the emulator's keys.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest

from tests.conftest import PROFILE_NAMES
from wsnb import frames, runner
from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.emulator import Emulator

pytestmark = pytest.mark.slow  # every test runs the notebook in a kernel

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "scheduled_cleanup.ipynb"
PAPERMILL = Path(sys.executable).parent / "papermill"
FAST = ["-p", "reads_per_minute", "None", "-p", "writes_per_minute", "None"]


@pytest.fixture(scope="session")
def kernel() -> Iterator[runner.LocalKernel]:
    """A kernel that runs this interpreter (registered or throwaway)."""
    with runner.kernel_for_current_env() as found:
        yield found


@pytest.fixture
def runs(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """This test's folder under the session-wide ``notebook-runs`` (scanned for secrets)."""
    folder = tmp_path_factory.getbasetemp() / "notebook-runs" / str(request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def seeded(emulator: Emulator) -> Emulator:
    emulator.control.seed(300, seed=5)
    return emulator


def kernel_env(emu: Emulator) -> dict[str, str]:
    """The kernel's environment: the emulator's endpoint and keys, no other credentials."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_ENV_VARS}
    env.update(
        WSNB_ENDPOINT=emu.endpoint,
        HUAWEICLOUD_SDK_AK=emu.ak,
        HUAWEICLOUD_SDK_SK=emu.sk,
        HUAWEICLOUD_SDK_PROJECT_ID=emu.project_id,
        HOME=env.get("HOME", "/nonexistent"),
    )
    env.pop("WSNB_REGION", None)
    return env


def run(
    args: list[str],
    emu: Emulator,
    folder: Path,
    name: str,
    kernel: runner.LocalKernel | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with the kernel environment; its stdout/stderr are kept as ``name.log``.

    With ``kernel``, the environment also lets Jupyter find that kernel (``papermill -k``)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = kernel.environ(kernel_env(emu)) if kernel is not None else kernel_env(emu)
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180, cwd=folder)
    (folder / f"{name}.log").write_text(done.stdout + "\n" + done.stderr, encoding="utf-8")
    return done


def papermill(
    emu: Emulator, folder: Path, kernel: runner.LocalKernel, *params: str
) -> subprocess.CompletedProcess[str]:
    args = [str(PAPERMILL), str(NOTEBOOK), str(folder / "out.ipynb"), "-k", kernel.name]
    args += ["-p", "output_dir", str(folder), "-p", "ledger_path", str(folder / "l.sqlite")]
    return run([*args, *FAST, *params], emu, folder, "papermill", kernel)


def wsnb_run(emu: Emulator, folder: Path, *params: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "wsnb", "run", "cleanup", "-o", str(folder)]
    args += ["-p", "ledger_path", str(folder / "l.sqlite")]
    return run([*args, *FAST, *params], emu, folder, "wsnb-run")


def expected(emu: Emulator, mask: Any) -> set[str]:
    """Ids a filter selects, computed here with pandas on a fresh listing."""
    frame = frames.tasks_frame(emu.client(rate_limit=None))
    return set(frame.index[mask(frame)])


def report(folder: Path) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((folder / "report.json").read_text())
    return payload


def error_text(path: Path) -> str:
    """The error outputs of an executed notebook."""
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return "\n".join(
        f"{o.get('ename')}: {o.get('evalue')}"
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    )


def batch_deletes(emu: Emulator) -> list[dict[str, Any]]:
    return [r for r in emu.control.requests() if r["operation"] == "batch_delete"]


def test_dry_run_deletes_nothing_and_writes_the_report(
    seeded: Emulator, runs: Path, kernel: runner.LocalKernel
) -> None:
    want = expected(seeded, lambda f: f["expire_time"] <= pd.Timestamp.now(tz="UTC"))
    before = set(seeded.control.task_ids())
    done = papermill(seeded, runs, kernel)  # notebook defaults: expired_only, dry run
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(seeded.control.task_ids()) == before
    assert batch_deletes(seeded) == []
    summary = report(runs)["summary"]
    assert (summary["dry_run"], summary["planned"], summary["deleted"]) == (True, len(want), 0)
    assert want and set(pd.read_csv(runs / "report.csv")["task_id"]) == want
    assert "<table" in (runs / "report.html").read_text()
    assert f"wsnb dry run {summary['run_id']}: OK" in json.dumps(
        [c.get("outputs") for c in nbformat.read(runs / "out.ipynb", as_version=4).cells]  # type: ignore[no-untyped-call]
    )


@pytest.mark.parametrize("profile", PROFILE_NAMES)  # listing and deleting, under both profiles
def test_real_run_deletes_exactly_the_filtered_tasks(
    seeded: Emulator, runs: Path, kernel: runner.LocalKernel
) -> None:
    def mask(f: pd.DataFrame) -> Any:
        return f["task_type"].isin(["STOP", "REBOOT"]) & f["last_status"].isin(["FAIL", "SKIP"])

    want = expected(seeded, mask)
    before = set(seeded.control.task_ids())
    done = wsnb_run(
        seeded,
        runs,
        *("-p", "expired_only", "False", "-p", "task_types", "STOP,REBOOT"),
        *("-p", "last_statuses", '["FAIL", "SKIP"]', "-p", "dry_run", "false"),
        *("-p", "max_deletions", "100", "-p", "chunk_size", "3"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert want and set(seeded.control.task_ids()) == before - want
    assert report(runs)["summary"]["deleted"] == len(want)
    assert f"html: {runs / 'report.html'}" in done.stdout
    page = runs / "scheduled_cleanup.html"
    assert f"html (no input): {page}" in done.stdout
    assert "cleanup_params" not in page.read_text()  # input hidden
    title = re.search(r"<title>(.*?)</title>", page.read_text())
    assert title and title[1].startswith(f"wsnb cleanup report — project {seeded.project_id} at ")
    assert page.stat().st_size < 60_000  # the basic template, not JupyterLab's 290 KB theme
    assert len(batch_deletes(seeded)) == -(-len(want) // 3)  # chunks of 3


def test_cap_exceeded_is_refused_and_nothing_is_deleted(
    seeded: Emulator, runs: Path, kernel: runner.LocalKernel
) -> None:
    before = set(seeded.control.task_ids())
    done = papermill(seeded, runs, kernel, "-p", "dry_run", "False", "-p", "max_deletions", "2")
    assert done.returncode != 0
    assert "DeletionCapError" in error_text(runs / "out.ipynb")
    assert "max_deletions" in error_text(runs / "out.ipynb")
    assert set(seeded.control.task_ids()) == before
    assert batch_deletes(seeded) == []
    assert not (runs / "report.json").exists()


def test_no_cap_is_refused_and_nothing_is_deleted(
    seeded: Emulator, runs: Path, kernel: runner.LocalKernel
) -> None:
    """``max_deletions=None`` once meant "no cap"; every path to deletion is capped now."""
    before = set(seeded.control.task_ids())
    done = papermill(seeded, runs, kernel, "-p", "dry_run", "False", "-p", "max_deletions", "None")
    assert done.returncode != 0
    assert "max_deletions must be a number >= 0, not None" in error_text(runs / "out.ipynb")
    assert set(seeded.control.task_ids()) == before
    assert batch_deletes(seeded) == []


def test_invalid_parameter_fails_with_a_clear_message(
    seeded: Emulator, runs: Path, kernel: runner.LocalKernel
) -> None:
    done = papermill(seeded, runs, kernel, "-p", "task_types", "STOP,SHUTDOWN")
    assert done.returncode != 0
    errors = error_text(runs / "out.ipynb")
    assert "ParameterError: task_types: unknown value(s) ['SHUTDOWN']" in errors
    assert seeded.control.requests() == []  # failed before connecting


def test_injected_failures_exit_non_zero_with_the_report_written(
    seeded: Emulator, runs: Path, kernel: runner.LocalKernel
) -> None:
    # a 400 that is not about ids on every call: each chunk ends `failed` (after one split)
    seeded.control.add_fault(
        operation="batch_delete",
        kind="status",
        status=400,
        error_code="WKS.0001",
        error_msg="Invalid request.",
    )
    before = set(seeded.control.task_ids())
    done = papermill(seeded, runs, kernel, "-p", "dry_run", "False", "-p", "chunk_size", "4")
    assert done.returncode != 0
    assert "RuntimeError" in error_text(runs / "out.ipynb")
    payload = report(runs)
    outcomes = pd.DataFrame(payload["outcomes"])
    failed = set(outcomes.loc[outcomes["outcome"] == "failed", "task_id"])
    deleted = set(outcomes.loc[outcomes["outcome"] == "deleted", "task_id"])
    assert payload["summary"]["failed"] == len(failed) > 0
    assert set(seeded.control.task_ids()) == before - deleted
    assert failed <= set(seeded.control.task_ids())
    assert "Invalid request." in (runs / "report.csv").read_text()


def test_secret_parameter_is_refused(
    seeded: Emulator, runs: Path, kernel: runner.LocalKernel
) -> None:
    dummy = "dummy-sk-passed-as-parameter"
    done = papermill(seeded, runs, kernel, "-p", "sk", dummy)
    assert done.returncode != 0
    errors = error_text(runs / "out.ipynb")
    assert "SecretParameterError" in errors and "['sk']" in errors
    assert dummy not in errors
    assert seeded.control.requests() == []

    cli = wsnb_run(seeded, runs / "cli", "-p", "HUAWEICLOUD_SDK_SK", seeded.sk)
    assert cli.returncode == 2
    assert "refusing secret-looking parameter(s) ['HUAWEICLOUD_SDK_SK']" in cli.stderr
    assert seeded.sk not in cli.stdout + cli.stderr
    assert not (runs / "cli" / "scheduled_cleanup.ipynb").exists()


def test_a_dry_run_is_approved_and_executed_with_plan_run(
    seeded: Emulator, runs: Path, kernel: runner.LocalKernel
) -> None:
    """Plan in one scheduled run, approve, execute the same plan later: ``plan_run``."""
    planned = papermill(seeded, runs / "plan", kernel, "-p", "ledger_path", str(runs / "l.sqlite"))
    assert planned.returncode == 0, planned.stderr[-2000:]
    summary = report(runs / "plan")["summary"]
    assert summary["dry_run"] and summary["planned"] and summary["eta_execute"]
    want = set(pd.read_csv(runs / "plan" / "report.csv")["task_id"])
    seeded.control.seed(5, seed=99)  # new tasks since the plan: not in it, never deleted
    before = set(seeded.control.task_ids())
    done = papermill(
        seeded,
        runs / "execute",
        kernel,
        *("-p", "ledger_path", str(runs / "l.sqlite"), "-p", "dry_run", "False"),
        *("-p", "plan_run", str(summary["run_id"])),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    executed = report(runs / "execute")["summary"]
    assert executed["plan_run"] == summary["run_id"] and executed["deleted"] == len(want)
    assert set(seeded.control.task_ids()) == before - want
    gets = [r for r in seeded.control.requests() if r["operation"] == "get_task"]
    assert len(gets) <= 2 * len(want)  # the plan's snapshots were reused: no second one per id
