"""wsnb.params: the cleanup notebook's parameters, their validation and the secrets rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from wsnb import params
from wsnb.selection import TaskFilters

# --- cleanup_params ---------------------------------------------------------------------------


def test_defaults_need_a_filter() -> None:
    with pytest.raises(params.ParameterError, match=r"no filter set.*all_tasks=True"):
        params.cleanup_params()
    assert params.cleanup_params(all_tasks=True).all_tasks is True


def test_values_are_normalised() -> None:
    p = params.cleanup_params(
        task_types="stop, REBOOT,STOP",
        last_statuses=["fail"],
        next_run_after="2026-01-01",
        next_run_before="2026-01-02T08:00:00+08:00",
        max_deletions="5",
        dry_run="false",
        output_dir="reports",
    )
    assert p.task_types == ("STOP", "REBOOT")
    assert p.last_statuses == ("FAIL",)
    assert p.next_run_after == pd.Timestamp("2026-01-01", tz="UTC")
    assert p.next_run_before == pd.Timestamp("2026-01-02 00:00", tz="UTC")
    assert (p.max_deletions, p.dry_run, p.output_dir) == (5, False, Path("reports"))
    assert p.filters() == {
        "task_types": ("STOP", "REBOOT"),
        "last_statuses": ("FAIL",),
        "next_run_before": "2026-01-02T00:00:00+00:00",
        "next_run_after": "2026-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"chunk_size": 0}, "chunk_size must be between 1 and 5000, got 0"),
        ({"chunk_size": 5001}, "chunk_size must be between 1 and 5000, got 5001"),
        ({"max_deletions": -1}, "max_deletions must be at least 0, got -1"),
        ({"max_deletions": 2.5}, "max_deletions must be an integer"),
        ({"max_deletions": None}, r"max_deletions must be a number >= 0, not None.*explicit"),
        ({"max_deletions": ""}, r"max_deletions must be a number >= 0, not None"),
        ({"dry_run": "maybe"}, "dry_run must be True or False"),
        ({"task_types": ["STOPP"]}, r"task_types: unknown value\(s\) \['STOPP'\]"),
        ({"last_statuses": "OK"}, r"last_statuses: unknown value\(s\) \['OK'\]"),
        ({"expire_before": "yesterday-ish"}, "expire_before must be a date/time"),
        (
            {"next_run_after": "2026-02-01", "next_run_before": "2026-01-01"},
            "next_run_after .* must be earlier than next_run_before",
        ),
        ({"reads_per_minute": 0}, "reads_per_minute must be > 0 or None"),
        ({"endpoint": "http://x", "region": "cn-north-4"}, "endpoint or region, not both"),
        ({"colour": "red"}, r"unknown parameter\(s\) \['colour'\]"),
        ({"name_pattern": 5}, "name_pattern must be a string"),
    ],
)
def test_bad_values_name_the_parameter(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(params.ParameterError, match=message):
        params.cleanup_params(expired_only=True, **kw)


def test_empty_paths_fall_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSNB_OUTPUT_DIR", "/tmp/wsnb-out")
    monkeypatch.setenv("WSNB_LEDGER", "/tmp/wsnb-ledger.sqlite")
    p = params.cleanup_params(expired_only=True, output_dir="", ledger_path="")
    assert (p.output_dir, p.ledger_path) == (
        Path("/tmp/wsnb-out"),
        Path("/tmp/wsnb-ledger.sqlite"),
    )
    monkeypatch.delenv("WSNB_OUTPUT_DIR")
    monkeypatch.delenv("WSNB_LEDGER")
    p = params.cleanup_params(expired_only=True)
    assert (p.output_dir, p.ledger_path) == (Path("wsnb-report"), None)


# --- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["ak", "sk", "SK", "token", "security_token", "auth_token", "HUAWEICLOUD_SDK_AK", "my_sk"],
)
def test_secret_names_are_refused_without_the_value(name: str) -> None:
    value = "s3cr3t-VALUE-42"
    with pytest.raises(params.SecretParameterError) as info:
        params.cleanup_params(expired_only=True, **{name: value})
    assert name in str(info.value)
    assert value not in str(info.value)


def test_plain_names_are_not_secret() -> None:
    names = [*params.CLEANUP_PARAMETERS, "In", "Out", "_ih", "get_ipython"]
    assert [n for n in names if params._looks_secret(n)] == []
    params.check_no_secrets(names)
    # the same names plus one secret are refused, and only the secret is named
    with pytest.raises(params.SecretParameterError, match=r"parameter\(s\) \['sk'\]:"):
        params.check_no_secrets([*names, "sk"])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("True", True),
        ("false", False),
        ("None", None),
        ("12", 12),
        ("1.5", 1.5),
        ('["STOP", "REBOOT"]', ["STOP", "REBOOT"]),
        ("STOP,REBOOT", "STOP,REBOOT"),
    ],
)
def test_parse_parameter(text: str, value: Any) -> None:
    assert params.parse_parameter(text) == value


def test_task_filters_are_the_filter_parameters() -> None:
    p = params.cleanup_params(name_pattern="nightly", disabled_only=True, dry_run=False)
    assert p.task_filters() == TaskFilters(name_pattern="nightly", disabled_only=True)
    assert p.filters() == {"name_pattern": "nightly", "disabled_only": True}
    assert params.cleanup_params(all_tasks=True).task_filters() == TaskFilters()


def test_mode_and_grace_days() -> None:
    p = params.cleanup_params(all_tasks=True, mode="Quarantine", grace_days="14")
    assert (p.mode, p.grace_days) == ("quarantine", 14)
    assert params.cleanup_params(all_tasks=True).mode == "delete"
    assert params.cleanup_params(all_tasks=True, grace_days=0).grace_days == 0
    assert params.cleanup_params(all_tasks=True, grace_days=365).grace_days == 365
    with pytest.raises(params.ParameterError, match=r"mode must be one of \['delete', 'quarant"):
        params.cleanup_params(all_tasks=True, mode="purge")


@pytest.mark.parametrize("bad", [-1, 366, 2.5, "a week", True, None, ""])
def test_grace_days_must_be_whole_days_from_0_to_365(bad: Any) -> None:
    with pytest.raises(params.ParameterError, match=r"^grace_days .*0 to 365"):
        params.cleanup_params(all_tasks=True, grace_days=bad)


@pytest.mark.parametrize(
    ("extra", "word"), [({"mode": "quarantine"}, "quarantine"), ({"plan_run": 3}, "plan_run")]
)
def test_a_fleet_refuses_single_project_modes(extra: dict[str, object], word: str) -> None:
    """Quarantine and plan execution work on one project: with a fleet they are refused, by name."""
    with pytest.raises(params.ParameterError, match=word):
        params.cleanup_params(fleet=["cn-north-4:p1"], expired_only=True, dry_run=False, **extra)
