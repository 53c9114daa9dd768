"""Fleets: the fleet file, credential sources, IAM discovery and the fleet frame, against real
emulators on sockets (two of them as two "regions")."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
import pytest

import wsnb
from wsnb._fleet_iam import discover_projects, in_region
from wsnb.auth import Credentials, CredentialsError
from wsnb.emulator import Emulator
from wsnb.emulator.seed import seed_store
from wsnb.errors import AuthenticationError
from wsnb.fleet import Fleet, FleetError, FleetFileError, Target, fleet_from_toml, load_fleet
from wsnb.frames import TASK_COLUMNS

P1, P2, P3 = "a1" * 16, "b2" * 16, "c3" * 16


# --- targets and the fleet file ------------------------------------------------------------------


def test_targets_parse_from_strings_and_need_a_place() -> None:
    t = Target.parse("cn-north-4:" + P1)
    assert (t.region, t.endpoint, t.project_id, t.label) == ("cn-north-4", None, P1, "cn-north-4")
    e = Target.parse(f"http://127.0.0.1:8080/:{P2}")
    assert (e.endpoint, e.project_id, e.label) == ("http://127.0.0.1:8080", P2, e.endpoint)
    for bad in ("cn-north-4", f":{P1}", "cn-north-4:"):
        with pytest.raises(FleetFileError, match="region:project_id"):
            Target.parse(bad)
    with pytest.raises(ValueError, match="unknown region 'mars-1'"):
        Target(project_id=P1, region="mars-1")
    with pytest.raises(ValueError, match="give region= or endpoint="):
        Target(project_id=P1)


def test_a_fleet_refuses_a_project_twice() -> None:
    with pytest.raises(ValueError, match=f"project {P1} appears twice"):
        Fleet([f"cn-north-4:{P1}", f"ap-southeast-1:{P1}"])
    fleet = Fleet([f"cn-north-4:{P1}", {"project_id": P2, "region": "ap-southeast-1"}])
    assert fleet.project_ids == [P1, P2] and len(fleet) == 2
    assert fleet.target(P2).region == "ap-southeast-1"
    assert repr(fleet) == f"Fleet([cn-north-4:{P1}, ap-southeast-1:{P2}])"
    with pytest.raises(KeyError, match="not in the fleet"):
        fleet.target(P3)


def test_fleet_parameters_parse_paths_and_lists(tmp_path: Path) -> None:
    assert Fleet.parse(None) is None and Fleet.parse("") is None and Fleet.parse([]) is None
    listed = Fleet.parse([f"cn-north-4:{P1}", f"cn-east-3:{P2}"])
    assert listed is not None and listed.project_ids == [P1, P2]
    joined = Fleet.parse(f"cn-north-4:{P1}, cn-east-3:{P2}")
    assert joined is not None and joined.project_ids == [P1, P2]
    path = tmp_path / "f.toml"
    path.write_text(f'[[fleet.targets]]\nregion = "cn-north-4"\nproject_id = "{P3}"\n')
    from_file = Fleet.parse(str(path))
    assert from_file is not None and from_file.project_ids == [P3]
    with pytest.raises(FleetFileError):
        Fleet.parse(42)


TOML = f"""
[fleet]
profile = "prod"

[[fleet.targets]]
region = "cn-north-4"
project_id = "{P1}"

[[fleet.targets]]
endpoint = "https://workspace.example.test"
project_id = "{P2}"
profile = "asia"
"""


def test_the_fleet_file_gives_defaults_and_per_target_profiles() -> None:
    fleet = fleet_from_toml(TOML, "wsnb.toml")
    assert [t.profile for t in fleet] == ["prod", "asia"]
    assert fleet[1].endpoint == "https://workspace.example.test"


@pytest.mark.parametrize(
    ("key", "where"),
    [("sk", "fleet.targets[0].sk"), ("ak", "fleet.ak"), ("token", "fleet.targets[0].token")],
)
def test_the_fleet_file_refuses_credentials_naming_the_key(key: str, where: str) -> None:
    secret = "S3cr3tValue-never-shown"
    if where.startswith("fleet.targets"):
        text = (
            f'[[fleet.targets]]\nregion = "cn-north-4"\nproject_id = "{P1}"\n{key} = "{secret}"\n'
        )
    else:
        text = f'[fleet]\n{key} = "{secret}"\n'
    with pytest.raises(FleetFileError) as caught:
        fleet_from_toml(text, "wsnb.toml")
    message = str(caught.value)
    assert repr(where) in message and "credential" in message
    assert secret not in message


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[fleet\n", "not valid TOML"),
        ("[other]\n", "unknown table 'other'"),
        (f'[[fleet.targets]]\nregion = "cn-north-4"\nprojectid = "{P1}"\n', "projectid"),
        ('[[fleet.targets]]\nregion = "cn-north-4"\n', r"fleet.targets\[0\]"),
        ("[fleet]\n", "names no target"),
        (f'[[fleet.targets]]\nregion = "cn-north-4"\nproject_id = {1}\n', "must be a string"),
    ],
)
def test_a_malformed_fleet_file_names_the_problem(text: str, match: str) -> None:
    with pytest.raises(FleetFileError, match=match):
        fleet_from_toml(text, "wsnb.toml")


def test_wsnb_toml_in_the_current_folder_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FleetFileError, match="no fleet file"):
        load_fleet()
    (tmp_path / "wsnb.toml").write_text(TOML)
    assert load_fleet().project_ids == [P1, P2]
    with pytest.raises(FleetFileError, match="does not exist"):
        load_fleet(tmp_path / "other.toml")


def _credentials_file(tmp_path: Path) -> Path:
    path = tmp_path / "credentials"
    path.write_text(
        "[basic]\nak = BASICAK\nsk = basic-secret\n"
        "[prod]\nak = PRODAK\nsk = prod-secret\n"
        "[half]\nak = HALFAK\n"
    )
    return path


def test_each_target_reads_its_own_profile_of_the_sdk_credentials_file(tmp_path: Path) -> None:
    path = _credentials_file(tmp_path)
    env = {"HUAWEICLOUD_SDK_CREDENTIALS_FILE": str(path), "HOME": str(tmp_path)}
    prod = Target(project_id=P1, region="cn-north-4", profile="prod").resolve_credentials(env)
    assert (prod.ak, prod.project_id) == ("PRODAK", P1)
    assert "prod-secret" not in repr(prod)
    basic = Target(project_id=P2, region="cn-north-4").resolve_credentials(env)
    assert (basic.ak, basic.project_id) == ("BASICAK", P2)  # no profile: as Credentials.from_env
    with pytest.raises(CredentialsError, match=r"\[half\] lacks sk"):
        Target(project_id=P1, region="cn-north-4", profile="half").resolve_credentials(env)
    with pytest.raises(CredentialsError, match=r"no \[nope\] section"):
        Target(project_id=P1, region="cn-north-4", profile="nope").resolve_credentials(env)
    given = Credentials(ak="CODEAK", sk="code-secret")
    coded = Target(project_id=P3, region="cn-north-4", credentials=given).resolve_credentials(env)
    assert (coded.ak, coded.project_id) == ("CODEAK", P3)


# --- IAM discovery -------------------------------------------------------------------------------


def test_in_region_keeps_the_region_and_its_sub_projects() -> None:
    assert in_region("cn-east-3", "cn-east-3") and in_region("cn-east-3_dev", "cn-east-3")
    assert not in_region("cn-east-30", "cn-east-3") and not in_region("MOS", "cn-east-3")


def test_the_emulator_serves_iam_projects_and_discovery_filters_by_region(
    make_emulator: Callable[..., Emulator],
) -> None:
    emu = make_emulator(tasks=3)
    seed_store(emu.state.store, P2, 2, seed=1, now=emu.state.now())
    emu.config.iam_projects = {P3: "cn-north-4_dev", "d4" * 16: "ap-southeast-1"}
    found = discover_projects("cn-north-4", credentials=emu.credentials, iam_endpoint=emu.endpoint)
    assert [p["id"] for p in found] == [emu.project_id, P2, P3]
    assert {p["name"] for p in found} == {"cn-north-4", "cn-north-4_dev"}
    assert all(p["enabled"] and p["domain_id"] for p in found)
    other = discover_projects(
        "ap-southeast-1", credentials=emu.credentials, iam_endpoint=emu.endpoint
    )
    assert [p["id"] for p in other] == ["d4" * 16]
    logged = [e for e in emu.control.requests() if e["operation"] == "iam_list_projects"]
    assert [e["status"] for e in logged] == [200, 200]
    raw = httpx.get(f"{emu.endpoint}/v3/auth/projects")  # unsigned
    assert raw.status_code == 401 and raw.json()["error_code"] == "APIG.0301"
    wrong = Credentials(ak=emu.ak, sk="not-the-secret-key")
    with pytest.raises(AuthenticationError) as caught:
        discover_projects("cn-north-4", credentials=wrong, iam_endpoint=emu.endpoint)
    assert "not-the-secret-key" not in str(caught.value)


def test_a_fleet_file_discovers_the_projects_of_a_region(
    make_emulator: Callable[..., Emulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = make_emulator(tasks=4)
    seed_store(emu.state.store, P2, 3, seed=1, now=emu.state.now())
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", emu.ak)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", emu.sk)
    path = tmp_path / "wsnb.toml"
    path.write_text(
        f'[fleet]\niam_endpoint = "{emu.endpoint}"\n'
        f'[[fleet.targets]]\nendpoint = "{emu.endpoint}"\nproject_id = "{P2}"\n'
        f'[[fleet.discover]]\nregion = "cn-north-4"\nendpoint = "{emu.endpoint}"\n'
    )
    fleet = load_fleet(path)
    assert fleet.project_ids == [P2, emu.project_id]  # listed first, discovered once
    assert fleet[1].region == "cn-north-4" and fleet[1].endpoint == emu.endpoint
    frame = wsnb.tasks_frame(fleet)
    assert frame.groupby(level="project_id").size().to_dict() == {P2: 3, emu.project_id: 4}


# --- the fleet frame -----------------------------------------------------------------------------


def _two_regions(
    make_emulator: Callable[..., Emulator], **kw: object
) -> tuple[Fleet, Emulator, Emulator]:
    a = make_emulator(tasks=7, seed=1, **kw)
    b = make_emulator(tasks=5, seed=2, **kw)
    seed_store(b.state.store, P2, 4, seed=3, now=b.state.now())
    fleet = Fleet(
        [
            Target(
                project_id=a.project_id,
                region="r-a",
                endpoint=a.endpoint,
                credentials=a.credentials,
            ),
            Target(
                project_id=b.project_id,
                region="r-b",
                endpoint=b.endpoint,
                credentials=b.credentials,
            ),
            Target(project_id=P2, region="r-b", endpoint=b.endpoint, credentials=b.credentials),
        ],
        client_options={"rate_limit": None},
    )
    return fleet, a, b


def test_the_fleet_frame_is_indexed_by_project_and_task_with_a_region(
    make_emulator: Callable[..., Emulator],
) -> None:
    fleet, a, b = _two_regions(make_emulator)
    frame = wsnb.tasks_frame(fleet)
    assert frame.index.names == ["project_id", "task_id"]
    assert list(frame.columns) == [*TASK_COLUMNS, "region"]
    assert str(frame["region"].dtype) == "string"
    for name, dtype in TASK_COLUMNS.items():
        assert str(frame[name].dtype).startswith(dtype[:5]) or dtype == "category"
    sizes = frame.groupby(level="project_id", sort=False).size()
    assert sizes.to_dict() == {a.project_id: 7, b.project_id: 5, P2: 4}
    assert frame.xs(P2, level="project_id")["region"].unique().tolist() == ["r-b"]
    for pid, emu, project in ((a.project_id, a, a.project_id), (P2, b, P2)):
        assert set(frame.xs(pid, level="project_id").index) == set(
            emu.state.store.task_ids(project)
        )
    single = wsnb.tasks_frame(a.client(rate_limit=None))
    assert single.index.name == "task_id"  # a single project's frame is unchanged
    part = frame.xs(a.project_id, level="project_id")
    assert isinstance(part, pd.DataFrame)
    pd.testing.assert_frame_equal(
        part.drop(columns="region").sort_index(),
        single.sort_index(),
        check_categorical=False,
    )
    filtered = wsnb.tasks_frame(fleet, task_type="REBOOT", include_life_cycle=False)
    assert set(filtered["task_type"].astype(str)) <= {"REBOOT"}


def test_a_failing_project_is_named_and_the_others_are_listed(
    make_emulator: Callable[..., Emulator],
) -> None:
    fleet, a, b = _two_regions(make_emulator)
    a.control.add_fault(operation="list_tasks", kind="status", status=403)
    with pytest.raises(FleetError, match=f"listing failed in 1 project.*{a.project_id}") as caught:
        wsnb.tasks_frame(fleet)
    assert set(caught.value.errors) == {a.project_id}
    partial = caught.value.result
    assert isinstance(partial, pd.DataFrame)
    assert set(partial.index.get_level_values("project_id")) == {b.project_id, P2}
    with pytest.raises(TypeError, match="unknown task filter"):
        wsnb.tasks_frame(fleet, colour="red")


def test_each_project_is_listed_within_its_own_quota(
    make_emulator: Callable[..., Emulator],
) -> None:
    """Two projects on one throttled emulator (the quota is per project): listed at once, each
    client keeps its own project's pace, so nothing is throttled."""
    from wsnb._retry import RateLimit
    from wsnb.emulator import Throttle

    scale = 0.05  # a "minute" of 3 s
    emu = make_emulator(throttle=Throttle(reads_per_minute=20, time_scale=scale))
    seed_store(emu.state.store, P1, 120, seed=1, now=emu.state.now())
    seed_store(emu.state.store, P2, 120, seed=2, now=emu.state.now())
    fleet = Fleet(
        [
            Target(project_id=pid, region="r", endpoint=emu.endpoint, credentials=emu.credentials)
            for pid in (P1, P2)
        ],
        client_options={"rate_limit": lambda: RateLimit(20, 10, window=60 * scale)},
    )
    frame = wsnb.tasks_frame(fleet)
    assert len(frame) == 240
    statuses = [e["status"] for e in emu.control.requests() if e["operation"] == "list_tasks"]
    assert statuses and set(statuses) == {200}
    per_project = {
        pid: sum(1 for e in emu.control.requests() if e["project_id"] == pid) for pid in (P1, P2)
    }
    assert per_project[P1] >= 4 and per_project[P2] >= 4  # both listed: pages + life-cycle pass


def test_a_fleet_uses_the_environment_when_no_profile_is_named(
    make_emulator: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = make_emulator(tasks=2)
    for name in ("HUAWEICLOUD_SDK_CREDENTIALS_FILE", "WSNB_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", emu.ak)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", emu.sk)
    fleet = Fleet([f"{emu.endpoint}:{emu.project_id}"], client_options={"rate_limit": None})
    assert len(wsnb.tasks_frame(fleet)) == 2
    assert os.environ["HUAWEICLOUD_SDK_AK"] == emu.ak


# --- the cleanup notebook's fleet parameter ------------------------------------------------------


def test_the_fleet_parameter_takes_a_path_or_targets(tmp_path: Path) -> None:
    from wsnb.params import ParameterError, cleanup_fleet, cleanup_params

    listed = cleanup_params(all_tasks=True, fleet=[f"cn-north-4:{P1}", f"cn-east-3:{P2}"])
    assert listed.fleet == (f"cn-north-4:{P1}", f"cn-east-3:{P2}")
    fleet = cleanup_fleet(listed)
    assert fleet is not None and fleet.project_ids == [P1, P2]
    limit = fleet.client_options["rate_limit"]
    assert callable(limit) and limit() is not limit()  # one budget per project
    assert (
        cleanup_params(all_tasks=True, fleet=f"cn-north-4:{P1},cn-east-3:{P2}").fleet
        == listed.fleet
    )
    assert cleanup_fleet(cleanup_params(all_tasks=True)) is None  # empty: a single project
    assert cleanup_params(all_tasks=True, fleet="").fleet == ()
    path = tmp_path / "wsnb.toml"
    path.write_text(f'[[fleet.targets]]\nregion = "cn-north-4"\nproject_id = "{P3}"\n')
    from_file = cleanup_params(all_tasks=True, fleet=str(path))
    assert from_file.fleet == str(path) and from_file.as_dict()["fleet"] == str(path)
    loaded = cleanup_fleet(from_file)
    assert loaded is not None and loaded.project_ids == [P3]
    with pytest.raises(ParameterError, match="does not exist"):
        cleanup_params(all_tasks=True, fleet=str(tmp_path / "missing.toml"))
    with pytest.raises(ParameterError, match=r"fleet: .*region:project_id"):
        cleanup_params(all_tasks=True, fleet=["no-project-here"])
    with pytest.raises(ParameterError, match="not both"):
        cleanup_params(all_tasks=True, fleet=[f"cn-north-4:{P1}"], project_id=P2)


@pytest.mark.slow
def test_the_cleanup_notebook_cleans_a_fleet(emulator: Emulator, tmp_path: Path) -> None:
    """``wsnb run cleanup -p fleet [...]`` through papermill: both projects, one fleet run."""
    import json
    import sys

    from tests.test_notebooks import run

    mine = emulator.control.seed(20, seed=7)
    seed_store(emulator.state.store, P1, 15, seed=8, now=emulator.state.now())
    try:
        targets = json.dumps(
            [f"{emulator.endpoint}:{emulator.project_id}", f"{emulator.endpoint}:{P1}"]
        )
        args = [sys.executable, "-m", "wsnb", "run", "cleanup", "-o", str(tmp_path)]
        args += ["-p", "ledger_path", str(tmp_path / "l.sqlite"), "-p", "fleet", targets]
        args += ["-p", "all_tasks", "true", "-p", "expired_only", "false"]
        args += ["-p", "dry_run", "false", "-p", "max_deletions", "35"]
        args += ["-p", "reads_per_minute", "None", "-p", "writes_per_minute", "None"]
        done = run(args, emulator, tmp_path, "wsnb-run")
        assert done.returncode == 0, done.stderr[-2000:]
        assert emulator.control.task_ids() == [] and emulator.state.store.task_ids(P1) == []
        summary = json.loads((tmp_path / "report.json").read_text())["summary"]
        assert (summary["fleet"], summary["projects"], summary["deleted"]) == (True, 2, 35)
        assert (tmp_path / P1 / "report.html").is_file()
        assert len(mine) == 20
        assert (
            emulator.sk not in (tmp_path / "out.ipynb").read_text()
            if (tmp_path / "out.ipynb").exists()
            else True
        )
    finally:
        emulator.state.store.reset(P1)
