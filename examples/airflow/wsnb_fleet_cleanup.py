"""Airflow DAG: the scheduled-task cleanup over a fleet of projects, one notebook run each.

Copy this file and ``wsnb_fleet_tasks.py`` into your DAGs folder. Needs Airflow 3
(tested with 3.3), ``apache-airflow-providers-papermill`` and ``wsnb`` on the workers.

Shape (dynamic task mapping):

``plan`` → ``cleanup`` (one ``PapermillOperator`` per project, ``.partial(...).expand_kwargs``)
→ ``fleet_report``

- ``plan`` turns the ``targets`` parameter (``"region:project_id"`` strings) into one set of
  notebook parameters per project (``region``, ``endpoint`` when ``endpoints`` maps the region,
  ``project_id``, the filters, ``dry_run``, ``max_deletions``, ``output_dir``), creates each
  project's report folder and refuses bad or duplicate targets before anything runs.
- ``cleanup`` runs ``scheduled_cleanup.ipynb`` as shipped inside the installed wsnb (found with
  :mod:`importlib.resources`) once per project. Each run writes its ``report.json``/``.html``/
  ``.csv``/``.md`` and the output notebook into ``REPORTS/<run>/<region>/<project_id>/``; a run
  with failed deletions, or with more tasks selected than ``max_deletions``, fails its task.
- ``fleet_report`` (runs whatever happened upstream) reads every project's ``report.json``,
  writes ``fleet.json``/``fleet.csv``/``fleet.html`` into ``REPORTS/<run>/`` and fails the DAG
  run when any project is not OK (its own report is not OK, or it wrote none).

Credentials never travel as parameters (papermill writes parameters into the output notebook,
and DAG parameters show in the UI): the workers' environment carries ``HUAWEICLOUD_SDK_AK`` /
``HUAWEICLOUD_SDK_SK`` (or ``WSNB_AUTH_TOKEN``), e.g. from a secrets backend; ``plan`` refuses
secret-looking parameter names. One key pair serves every project it is granted.

The default run is a dry run. Trigger a real one with ``{"dry_run": false}`` (each project is
capped by ``max_deletions``). The report folder must be shared by the workers when they are
several machines (``fleet_report`` reads what ``cleanup`` wrote).
"""

from __future__ import annotations

import importlib.resources
import os
import re
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.papermill.operators.papermill import PapermillOperator
from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from wsnb_fleet_tasks import fleet_headline, fleet_summary, plan_runs, read_runs, run_folder_name
from wsnb_fleet_tasks import write_fleet_report as write_fleet_files


def cleanup_notebook() -> str:
    """``scheduled_cleanup.ipynb`` as installed with wsnb (the wheel ships it as package data,
    ``wsnb/notebooks/``); in a source checkout or an editable install, where the package is the
    repository's ``wsnb/`` folder, the repository's ``notebooks/`` copy."""
    shipped = importlib.resources.files("wsnb").joinpath("notebooks", "scheduled_cleanup.ipynb")
    if shipped.is_file():
        return str(shipped)  # a wheel installs unpacked: a real file path
    from wsnb.runner import notebook_path

    return str(notebook_path("cleanup"))


def _targets_from_env() -> list[str]:
    """Default targets: ``WSNB_FLEET_TARGETS``, comma or space separated."""
    return [t for t in re.split(r"[\s,]+", os.environ.get("WSNB_FLEET_TARGETS", "")) if t]


with DAG(
    dag_id="wsnb_fleet_cleanup",
    schedule="0 3 * * 1",  # Mondays, 03:00 UTC
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # never two cleanups at once
    tags=["wsnb", "huaweicloud", "workspace"],
    params={
        "targets": Param(
            _targets_from_env(),
            type="array",
            items={"type": "string"},
            description='Projects to clean, as "region:project_id" (e.g. "cn-north-4:0a1b…").',
        ),
        "endpoints": Param(
            {},
            type="object",
            description="Region → endpoint URL, for regions without a public endpoint name.",
        ),
        "dry_run": Param(True, type="boolean", description="Plan and report only."),
        "max_deletions": Param(
            500, type="integer", minimum=0, description="Per project: more selected, none go."
        ),
        "expired_only": Param(True, type="boolean", description="Only expired tasks."),
        "notebook_parameters": Param(
            {},
            type="object",
            description="More parameters of scheduled_cleanup.ipynb (filters, chunk_size, …).",
        ),
        "reports_dir": Param(
            os.environ.get("WSNB_FLEET_REPORTS", "/var/lib/wsnb/reports"), type="string"
        ),
        "ledger_path": Param("", type="string", description="Empty: $WSNB_LEDGER or default."),
        "kernel_name": Param("python3", type="string", description="Jupyter kernel to run in."),
    },
) as dag:

    @task
    def plan() -> list[dict[str, Any]]:
        """One ``PapermillOperator`` keyword set per target; the report folders made."""
        context = get_current_context()
        root = Path(context["params"]["reports_dir"]) / run_folder_name(context["run_id"])
        try:
            return plan_runs(context["params"], root)
        except ValueError as exc:  # a bad parameter: retrying cannot help
            raise AirflowFailException(str(exc)) from exc

    @task(trigger_rule="all_done")  # also after failed cleanups: they are what it reports
    def fleet_report(runs: list[dict[str, Any]]) -> dict[str, Any]:
        """Combine the projects' report.json files; fail the DAG run unless all are OK."""
        results = read_runs(runs)
        folder = Path(runs[0]["parameters"]["output_dir"]).parents[1]  # ROOT/region/project
        files = write_fleet_files(results, folder)
        summary = fleet_summary(results)
        print(fleet_headline(summary))  # the task log
        for result in results:
            print(f"{'OK  ' if result.ok else 'FAIL'} {result.target}: {result.headline}")
        if not summary["ok"]:
            raise AirflowFailException(f"{fleet_headline(summary)} See {files['html']}")
        return {k: summary[k] for k in ("ok", "projects", "totals")} | {
            "files": {kind: str(path) for kind, path in files.items()}
        }

    runs = plan()
    cleanup = PapermillOperator.partial(
        task_id="cleanup",
        input_nb=cleanup_notebook(),
        do_xcom_push=False,  # the run's result is its report.json
        max_active_tis_per_dagrun=4,  # at most 4 projects (kernels) at once per run
        map_index_template="{{ task.parameters['project_id'] }}",  # the UI's name of each run
    ).expand_kwargs(runs)
    cleanup >> fleet_report(runs)

if __name__ == "__main__":  # `python wsnb_fleet_cleanup.py`: one run in this process
    dag.test()
