"""examples/airflow/: the fleet cleanup DAG run for real with ``dag.test()`` against emulators.

Two emulators are two "regions" (one serves two projects: it keeps tasks per project id);
Airflow's metadata DB is SQLite in a temporary ``AIRFLOW_HOME``; every notebook runs in a real
kernel. Needs the ``airflow-test`` extra (``pip install -e '.[test,airflow-test]'``): skipped
where Airflow is not installed, except under ``CI=true``, where its absence fails the test.
The plan's and the fleet report's own logic (no Airflow) is tested first, everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

from tests.conftest import task_body
from wsnb import frames, runner
from wsnb.auth import CREDENTIAL_ENV_VARS
from wsnb.emulator import Emulator

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "airflow"
HAVE_AIRFLOW = importlib.util.find_spec("airflow") is not None


def _load(name: str) -> ModuleType:
    """A module of examples/airflow/, imported as Airflow does (its folder on sys.path)."""
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fleet = _load("wsnb_fleet_tasks")


# --- the plan and the fleet report, without Airflow ---------------------------------------------


def _report_json(folder: Path, **summary: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    base = {"status": "done", "dry_run": False, "ids": 0, "run_id": 1, "created": None}
    payload = {"summary": base | summary, "outcomes": [], "events": []}
    (folder / "report.json").write_text(json.dumps(payload), encoding="utf-8")


def test_targets_are_region_colon_project() -> None:
    assert fleet.parse_target(" cn-north-4:0a1b_c ") == ("cn-north-4", "0a1b_c")
    for bad in ("cn-north-4", ":p", "r:", "r:../p", "r:p/q", "a b:p"):
        with pytest.raises(ValueError, match="region:project_id"):
            fleet.parse_target(bad)


def _params(**changes: Any) -> dict[str, Any]:
    base = {
        "targets": ["cn-north-4:p1", "lab:p2"],
        "endpoints": {"lab": "http://127.0.0.1:9"},
        "dry_run": True,
        "max_deletions": 7,
        "expired_only": True,
        "notebook_parameters": {"task_types": ["STOP"]},
        "ledger_path": "",
        "kernel_name": "python3",
    }
    return base | changes


def test_the_plan_gives_each_target_its_parameters_and_folder(tmp_path: Path) -> None:
    runs = fleet.plan_runs(_params(), tmp_path)
    assert [r["parameters"]["project_id"] for r in runs] == ["p1", "p2"]
    known, mapped = (r["parameters"] for r in runs)
    assert (known["region"], known["endpoint"]) == ("cn-north-4", "")
    assert (mapped["region"], mapped["endpoint"]) == ("", "http://127.0.0.1:9")  # one of two
    assert known["task_types"] == ["STOP"] and known["max_deletions"] == 7
    assert known["dry_run"] is True
    assert Path(known["output_dir"]) == tmp_path / "cn-north-4" / "p1"
    assert Path(mapped["output_dir"]).is_dir()  # papermill writes the output notebook there
    assert runs[1]["output_nb"] == str(tmp_path / "lab" / "p2" / "scheduled_cleanup.ipynb")
    assert fleet.run_folder_name("manual__2026-11-30T03:00:00+00:00") == (
        "manual__2026-11-30T03_00_00_00_00"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"targets": []}, "no targets"),
        ({"targets": ["cn-north-4:p1", "cn-north-4:p1"]}, "duplicate targets"),
        ({"targets": ["mars-1:p1"]}, r"unknown regions \['mars-1'\]"),
        ({"targets": ["cn-north-4"]}, "region:project_id"),
        ({"notebook_parameters": {"dry_run": False}}, r"may not set \['dry_run'\]"),
        ({"notebook_parameters": {"sk": "s3cr3t-value"}}, "refusing secret-looking"),
    ],
)
def test_the_plan_refuses_before_anything_runs(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        fleet.plan_runs(_params(**changes), tmp_path)
    assert "s3cr3t-value" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # no folder made


def test_fleet_is_ok_only_when_every_project_reported_ok(tmp_path: Path) -> None:
    _report_json(tmp_path / "r" / "a", project_id="a", ids=3, deleted=3)
    _report_json(tmp_path / "r" / "b", project_id="b", ids=4, deleted=2, failed=2)
    _report_json(tmp_path / "r" / "c", project_id="other", ids=1, deleted=1)  # misplaced
    (tmp_path / "r" / "d").mkdir()  # the notebook stopped before writing its report
    error = {"output_type": "error", "ename": "RuntimeError", "evalue": "boom", "traceback": []}
    notebook = {"cells": [{"cell_type": "code", "outputs": [error]}]}
    (tmp_path / "r" / "d" / "scheduled_cleanup.ipynb").write_text(json.dumps(notebook))
    results = [fleet.read_project("r", p, tmp_path / "r" / p) for p in "abcd"]
    assert [r.ok for r in results] == [True, False, False, False]
    assert results[2].problem and "'other'" in results[2].problem
    assert results[3].status == "no report"
    assert results[3].problem == "The notebook stopped early: RuntimeError: boom"
    paths = fleet.write_fleet_report(results, tmp_path)
    summary = json.loads(paths["json"].read_text())
    assert summary["ok"] is False
    assert summary["not_ok"] == ["r:b", "r:c", "r:d"]
    assert summary["totals"]["deleted"] == 6 and summary["totals"]["failed"] == 2
    table = pd.read_csv(paths["csv"])
    assert list(table["project_id"]) == ["a", "b", "c", "d"]
    assert list(table["ok"]) == [True, False, False, False]
    page = paths["html"].read_text()
    assert "NEEDS ATTENTION" in page and "<script" not in page
    assert 'href="r/a/report.html"' not in page  # no report.html was written: no dead link
    assert 'href="r/d/scheduled_cleanup.ipynb"' in page  # where to see why d stopped
    assert "RuntimeError: boom" in page
    ok = fleet.fleet_summary(results[:1])
    assert ok["ok"] is True and fleet.fleet_headline(ok) == "All 1 projects OK: 3 deleted."
    assert fleet.fleet_summary([])["ok"] is False  # an empty fleet proves nothing


# --- the DAG, for real --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary AIRFLOW_HOME with a migrated SQLite metadata DB; the DAGs folder is
    examples/airflow/. Set before Airflow is first imported (it reads its config then)."""
    if not HAVE_AIRFLOW:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Airflow is not installed in CI: install the airflow-test extra")
        pytest.skip("Airflow is not installed (pip install -e '.[test,airflow-test]')")
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    saved = _logging_state()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        db = importlib.import_module("airflow.utils.db")  # what `airflow db reset` creates
        db.initdb()  # in this process: `airflow db migrate` costs a second Airflow import
        yield home
    _restore_logging(saved)


_LoggerState = tuple[logging.Logger, int, bool, bool, list[logging.Handler]]


def _logging_state() -> list[_LoggerState]:
    loggers = [logging.root, *logging.root.manager.loggerDict.values()]
    return [
        (lg, lg.level, lg.disabled, lg.propagate, list(lg.handlers))
        for lg in loggers
        if isinstance(lg, logging.Logger)
    ]


def _restore_logging(saved: list[_LoggerState]) -> None:
    """Undo Airflow's logging setup (it sets ``httpx`` to WARNING, adds root handlers, …), so
    the tests after this module see the logging they would without it."""
    known = {id(state[0]) for state in saved}
    for lg in logging.root.manager.loggerDict.values():
        if isinstance(lg, logging.Logger) and id(lg) not in known:  # made by Airflow
            lg.setLevel(logging.NOTSET)
            lg.disabled, lg.propagate, lg.handlers = False, True, []
    for lg, level, disabled, propagate, handlers in saved:
        lg.setLevel(level)
        lg.disabled, lg.propagate, lg.handlers = disabled, propagate, handlers


@pytest.fixture(scope="module")
def dag_module(airflow_home: Path) -> ModuleType:
    return _load("wsnb_fleet_cleanup")


def test_both_dags_parse_under_airflow(dag_module: ModuleType) -> None:
    """Airflow's own parser takes the folder: no import error, both DAGs, the mapped shape."""
    bag = importlib.import_module("airflow.dag_processing.dagbag").DagBag(str(EXAMPLE))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"wsnb_fleet_cleanup", "wsnb_scheduled_task_cleanup"}
    dag = dag_module.dag
    assert dag.task_dict["cleanup"].partial_kwargs["input_nb"] == dag_module.cleanup_notebook()
    assert Path(dag_module.cleanup_notebook()).name == "scheduled_cleanup.ipynb"
    assert dag.task_dict["fleet_report"].trigger_rule == "all_done"
    assert dag.params["dry_run"] is True  # a trigger without conf plans only


@pytest.fixture(scope="module")
def kernel() -> Iterator[runner.LocalKernel]:
    with runner.kernel_for_current_env() as found:
        yield found


def _expired(emu: Emulator, project_id: str) -> set[str]:
    """The ids the DAG's default filter (expired_only) selects, computed here with pandas."""
    frame = frames.tasks_frame(emu.client(rate_limit=None, project_id=project_id))
    return set(frame.index[frame["expire_time"] <= pd.Timestamp.now(tz="UTC")])


@pytest.mark.slow
@pytest.mark.timeout(900)  # nine notebook runs in kernels; ~2 min on a quiet 2-core machine
def test_fleet_dag_plans_deletes_capped_and_fails_on_a_project_not_ok(
    dag_module: ModuleType,
    emulator: Emulator,
    make_emulator: Callable[..., Emulator],
    kernel: runner.LocalKernel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    north, south = emulator, make_emulator(ak=emulator.ak, sk=emulator.sk)
    projects = {"pa": north, "pb": north, "pc": south}
    for seed, (project_id, emu) in enumerate(projects.items(), start=1):
        emu.control.seed(15, seed=seed, project_id=project_id)  # mostly still valid
        client = emu.client(rate_limit=None, project_id=project_id)
        for n in range({"pa": 4, "pb": 6, "pc": 12}[project_id]):
            client.create_task(task_body(task_name=f"old-{n}", expire_time="2026-01-01 00:00:00"))
    bystander = set(north.control.seed(10, seed=9))  # north's default project: not a target
    tasks = {p: set(emu.control.task_ids(p)) for p, emu in projects.items()}
    expired = {p: _expired(emu, p) for p, emu in projects.items()}
    cap = max(len(expired["pa"]), len(expired["pb"]))
    assert cap and len(expired["pc"]) > cap  # pc selects more than the cap of the 2nd run

    for name in (*CREDENTIAL_ENV_VARS, "WSNB_ENDPOINT", "WSNB_REGION", "WSNB_LEDGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HUAWEICLOUD_SDK_PROJECT_ID", raising=False)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", north.ak)  # one key pair for every project
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", north.sk)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.huaweicloud/credentials
    for name, value in kernel.environ({}).items():
        monkeypatch.setenv(name, value)
    reports = tmp_path / "reports"
    conf: dict[str, Any] = {
        "targets": ["cn-north-4:pa", "cn-north-4:pb", "ap-southeast-1:pc"],
        "endpoints": {"cn-north-4": north.endpoint, "ap-southeast-1": south.endpoint},
        "reports_dir": str(reports),
        "ledger_path": str(tmp_path / "ledger.sqlite"),
        "kernel_name": kernel.name,
        "notebook_parameters": {"reads_per_minute": None, "writes_per_minute": None},
    }

    def run(**changes: Any) -> tuple[Any, dict[str, Any]]:
        dr = dag_module.dag.test(run_conf=conf | changes)
        folder = reports / fleet.run_folder_name(dr.run_id)
        return dr, json.loads((folder / "fleet.json").read_text())

    def remaining(project_id: str) -> set[str]:
        return set(projects[project_id].control.task_ids(project_id))

    def batch_deletes() -> list[dict[str, Any]]:
        calls = north.control.requests() + south.control.requests()
        return [r for r in calls if r["operation"] == "batch_delete"]

    # 0. A bad trigger (a duplicate target) fails in plan: no notebook runs, no API call.
    north.control.clear_requests()
    south.control.clear_requests()
    dr = dag_module.dag.test(run_conf=conf | {"targets": [*conf["targets"], "cn-north-4:pa"]})
    assert dr.state == "failed"
    assert north.control.requests() == [] and south.control.requests() == []
    assert not reports.exists()

    # 1. The default: a dry run over the fleet. Everything planned, nothing deleted.
    dr, summary = run()
    assert dr.state == "success", summary
    assert summary["ok"] and summary["projects"] == 3
    by_target = {r["target"]: r for r in summary["results"]}
    for target, project_id in zip(conf["targets"], projects, strict=True):
        assert by_target[target]["dry_run"] is True
        assert by_target[target]["counts"]["planned"] == len(expired[project_id])
        assert remaining(project_id) == tasks[project_id]
    assert batch_deletes() == []
    names = {t.rendered_map_index for t in dr.get_task_instances() if t.task_id == "cleanup"}
    assert names == set(projects)  # map_index_template: the UI names each run by its project
    run_folder = reports / fleet.run_folder_name(dr.run_id)
    assert (run_folder / "cn-north-4" / "pa" / "report.html").is_file()
    assert (run_folder / "ap-southeast-1" / "pc" / "scheduled_cleanup.ipynb").is_file()
    assert 'href="cn-north-4/pa/report.html"' in (run_folder / "fleet.html").read_text()

    # 2. A real run capped below what pc selects: pa and pb are cleaned, pc deletes nothing,
    #    its notebook fails before writing a report, and the fleet report fails the DAG run.
    dr, summary = run(dry_run=False, max_deletions=cap)
    assert dr.state == "failed"
    assert summary["ok"] is False and summary["not_ok"] == ["ap-southeast-1:pc"]
    pc = {r["target"]: r for r in summary["results"]}["ap-southeast-1:pc"]
    assert pc["status"] == "no report"
    assert pc["problem"].startswith("The notebook stopped early: DeletionCapError: ")
    for project_id in ("pa", "pb"):
        assert remaining(project_id) == tasks[project_id] - expired[project_id]
    assert remaining("pc") == tasks["pc"]
    assert summary["totals"]["deleted"] == len(expired["pa"]) + len(expired["pb"])

    # 3. Capped at pc's selection: pc is cleaned too; pa and pb select nothing left; all OK.
    dr, summary = run(dry_run=False, max_deletions=len(expired["pc"]))
    assert dr.state == "success", summary
    assert summary["ok"] and summary["totals"]["deleted"] == len(expired["pc"])
    for project_id in projects:
        assert remaining(project_id) == tasks[project_id] - expired[project_id]
    assert set(north.control.task_ids()) == bystander  # never a target, never touched
    deleted = {i for call in batch_deletes() for i in call["task_ids"]}
    assert deleted == set().union(*expired.values())
    for page in reports.rglob("*.ipynb"):  # the output notebooks hold no secret
        assert north.sk not in page.read_text() and north.ak not in page.read_text()
