"""Example Airflow DAG: the weekly scheduled-task cleanup of one project as a papermill run.

Copy into your DAGs folder. For many projects at once (one notebook run per project and a fleet
report), see ``wsnb_fleet_cleanup.py`` beside this file. The worker needs ``wsnb`` and
``apache-airflow-providers-papermill`` installed (Airflow 3), and credentials in its environment
(``HUAWEICLOUD_SDK_AK`` / ``HUAWEICLOUD_SDK_SK`` or ``WSNB_AUTH_TOKEN``, plus ``WSNB_REGION`` or
``WSNB_ENDPOINT``), e.g. from an Airflow connection or a secrets backend. Never pass them as
notebook parameters: papermill writes parameters into the output notebook. A failed deletion
makes the notebook raise, so the task fails and alerts.

Not run by the test suite (``tests/test_airflow.py`` runs the fleet DAG, which does the same per
project).
"""

from __future__ import annotations

import importlib.resources

import pendulum
from airflow.providers.papermill.operators.papermill import PapermillOperator
from airflow.sdk import DAG


def cleanup_notebook() -> str:
    """``scheduled_cleanup.ipynb`` as installed with wsnb (package data in the wheel); in a source
    checkout or an editable install, the repository's copy."""
    shipped = importlib.resources.files("wsnb").joinpath("notebooks", "scheduled_cleanup.ipynb")
    if shipped.is_file():
        return str(shipped)
    from wsnb.runner import notebook_path

    return str(notebook_path("cleanup"))


NOTEBOOK = cleanup_notebook()
REPORTS = "/var/lib/wsnb/reports/{{ ds }}"

with DAG(
    dag_id="wsnb_scheduled_task_cleanup",
    schedule="0 3 * * 1",  # Mondays, 03:00
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # never two cleanups at once
    tags=["wsnb", "huaweicloud", "workspace"],
) as dag:
    plan = PapermillOperator(
        task_id="plan_cleanup",
        input_nb=NOTEBOOK,
        output_nb=f"{REPORTS}/plan.ipynb",
        parameters={
            "expired_only": True,
            "dry_run": True,
            "output_dir": f"{REPORTS}/plan",
        },
        kernel_name="python3",
    )
    delete = PapermillOperator(
        task_id="delete_expired_tasks",
        input_nb=NOTEBOOK,
        output_nb=f"{REPORTS}/run.ipynb",
        parameters={
            "expired_only": True,
            "dry_run": False,
            "max_deletions": 500,  # more than this selected: delete nothing and fail
            "fail_on_error": True,
            "output_dir": f"{REPORTS}/run",
            "ledger_path": "/var/lib/wsnb/ledger.sqlite",
        },
        kernel_name="python3",
    )
    plan >> delete
