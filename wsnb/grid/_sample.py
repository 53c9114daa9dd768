"""Synthetic task frames with the exact ``tasks_frame`` schema, for demos, tests and benchmarks.

The grid must be exercised on 100k rows without a server; this makes such a frame in
milliseconds, deterministically from a seed. It never touches the network.
:func:`sample_history` adds the ``wsnb.enrich`` columns (random runs), :func:`sample_fleet_frame`
stacks sample projects into a fleet frame (as ``tasks_frame(fleet)`` returns).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from wsnb.models import LastStatus, LifeCycleType, ScheduledType, TaskType

#: Zone names as the API reports them (IANA names and GMT offsets both occur).
SAMPLE_TIME_ZONES: tuple[str, ...] = (
    "Asia/Shanghai",
    "Europe/Berlin",
    "UTC",
    "America/New_York",
    "GMT+08:00",
)

_EPOCH = pd.Timestamp("2026-01-01", tz="UTC")


def _categorical(values: np.ndarray, categories: list[str]) -> pd.Categorical:
    return pd.Categorical(values, categories=categories)


def sample_tasks_frame(n: int, *, seed: int = 0) -> pd.DataFrame:
    """Return ``n`` synthetic tasks shaped exactly like ``wsnb.tasks_frame`` output.

    Some ``last_status``, ``next_execution_time`` and ``expire_time`` values are missing, as
    with tasks that never ran or never expire.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    ids = pd.Index(
        [f"{seed:04x}{i:08x}-{h:012x}" for i, h in enumerate(rng.integers(0, 2**48, n))],
        dtype="string",
        name="task_id",
    )
    task_types = [t.value for t in TaskType]
    scheduled = [s.value for s in ScheduledType]
    statuses = [s.value for s in LastStatus]
    life_cycles = [c.value for c in LifeCycleType]

    sched = rng.choice(scheduled, n)
    life = pd.Series(rng.choice(life_cycles, n)).where(sched == "LIFE_CYCLE").to_numpy()
    status_pick = rng.choice(len(statuses) + 1, n, p=[0.5, 0.1, 0.2, 0.2])  # last: never ran
    status = pd.Series(np.array(statuses)[np.minimum(status_pick, len(statuses) - 1)])
    status = status.where(status_pick < len(statuses))
    minutes = rng.integers(0, 60 * 24 * 365, n)
    first = pd.Series(_EPOCH + pd.to_timedelta(minutes, unit="min"))
    expire = (first + pd.to_timedelta(rng.integers(1, 400, n), unit="D")).where(rng.random(n) > 0.3)
    next_run = first.where(rng.random(n) > 0.05)
    verbs = np.array(["nightly", "weekly", "patch", "cleanup", "reboot", "snapshot", "audit"])
    names = pd.array(
        [f"{v}-{i:06d}" for i, v in enumerate(rng.choice(verbs, n))],
        dtype="string",
    )
    frame = pd.DataFrame(
        {
            "task_name": names,
            "task_type": _categorical(rng.choice(task_types, n), task_types),
            "scheduled_type": _categorical(sched, scheduled),
            "life_cycle_type": _categorical(life, life_cycles),
            "last_status": _categorical(status.to_numpy(), statuses),
            "enable": pd.array(rng.random(n) > 0.2, dtype="boolean"),
            "next_execution_time": next_run.to_numpy(),
            "expire_time": expire.to_numpy(),
            "time_zone": pd.array(rng.choice(SAMPLE_TIME_ZONES, n), dtype="string"),
            "description": pd.array(
                np.where(rng.random(n) > 0.5, "created by wsnb sample", ""), dtype="string"
            ),
            "priority": pd.array(rng.integers(1, 10, n), dtype="Int64"),
            "wait_time": pd.array(rng.integers(0, 30, n), dtype="Int64"),
            "life_cycle_exec_period": pd.array(
                [1 if s == "LIFE_CYCLE" else None for s in sched], dtype="Int64"
            ),
            "extra_params": pd.array([""] * n, dtype="string"),
        },
        index=ids,
    )
    for col in ("next_execution_time", "expire_time"):
        frame[col] = frame[col].astype("datetime64[ns, UTC]")
    return frame


def sample_history(
    frame: pd.DataFrame, records: int = 5, *, seed: int = 0, now: datetime | None = None
) -> pd.DataFrame:
    """``frame`` plus random history columns shaped exactly like ``wsnb.enrich`` output
    (``HISTORY_COLUMNS`` dtypes, ``attrs["history"]["records"]``): up to ``records`` runs per
    task, newest first, one a day or so before ``now``; a tenth of the tasks never ran."""
    from wsnb.history import HISTORY_COLUMNS

    rng = np.random.default_rng(seed)
    n = len(frame)
    moment = pd.Timestamp(now or datetime.now(UTC))
    statuses = np.array([s.value for s in LastStatus])
    counts = np.where(rng.random(n) < 0.1, 0, rng.integers(1, records + 1, n))
    # Failing tasks tend to keep failing: each task has its own failure probability.
    fail_p = rng.choice([0.05, 0.3, 0.9], n, p=[0.6, 0.25, 0.15])
    last_age = pd.to_timedelta(rng.integers(0, 90 * 24 * 60, n), unit="min")
    outcomes: list[str] = []
    streaks: list[int] = []
    recent: list[int] = []
    last_runs: list[pd.Timestamp | None] = []
    for i in range(n):
        k = int(counts[i])
        runs = [
            "FAIL" if rng.random() < fail_p[i] else str(statuses[rng.integers(0, 2)])
            for _ in range(k)
        ]
        outcomes.append(",".join(runs))
        streak = 0
        for run in runs:
            if run != "FAIL":
                break
            streak += 1
        streaks.append(streak)
        first = moment - last_age[i]
        ages = [last_age[i] + pd.Timedelta(days=d) for d in range(k)]
        recent.append(sum(a <= pd.Timedelta(days=30) for a in ages))
        last_runs.append(first if k else None)
    out = frame.copy()
    out["last_run"] = pd.Series(last_runs, index=frame.index, dtype="datetime64[ns, UTC]")
    out["last_outcome"] = pd.Categorical(
        [o.split(",")[0] if o else None for o in outcomes], categories=list(statuses)
    )
    out["recent_outcomes"] = pd.array(outcomes, dtype="string")
    out["failure_streak"] = pd.array(streaks, dtype="Int64")
    out["runs_30d"] = pd.array(recent, dtype="Int64")
    out = out.astype({c: t for c, t in HISTORY_COLUMNS.items() if c != "last_outcome"})
    out.attrs["history"] = {"records": records}
    return out


def sample_fleet_frame(
    projects: dict[str, str], n: int, *, seed: int = 0, shared_ids: int = 0
) -> pd.DataFrame:
    """A fleet frame: ``n`` sample tasks per project (``projects``: project id -> region), as
    ``tasks_frame(fleet)`` returns them (MultiIndex ``("project_id", "task_id")`` and a
    ``region`` column). The first ``shared_ids`` task ids repeat in every project, as two
    projects may hold the same task id."""
    parts = {}
    first: pd.Index | None = None
    for number, (project, region) in enumerate(projects.items()):
        part = sample_tasks_frame(n, seed=seed + number)
        if first is None:
            first = part.index
        elif shared_ids:
            ids = list(part.index)
            ids[:shared_ids] = list(first[:shared_ids])
            part.index = pd.Index(ids, dtype="string", name="task_id")
        part.insert(0, "region", pd.Series([region] * n, index=part.index, dtype="string"))
        parts[project] = part
    frame = pd.concat(parts, names=["project_id", "task_id"])
    return frame
