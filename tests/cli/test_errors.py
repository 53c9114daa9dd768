"""Expected failures of ``wsnb``: one ``Error:`` line naming cause and fix, a documented exit code.

Exit codes (``wsnb.cli.ExitCode``): 1 the run finished but is not OK, 2 usage or bad input,
3 authentication or permission, 4 connection or endpoint, 5 the ledger, 70 an internal error.
``--debug`` (or ``WSNB_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from wsnb.cli import ExitCode, cli
from wsnb.emulator import Emulator


def _invoke(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def _fails(result: Result, code: int, *words: str) -> str:
    """Assert exit ``code``, no uncaught exception, one ``Error:`` line holding ``words``."""
    assert result.exit_code == code, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # no traceback
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- exit codes are documented -----------------------------------------------------------------


def test_exit_codes_are_in_the_help_epilog() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for code in ExitCode:
        assert f"{code.value} {code.doc}" in text, (code, text)
    assert "--debug" in text and "WSNB_DEBUG" in text


def test_exit_codes_are_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {code.value} | {code.doc}" in readme, code


# --- authentication (3) ------------------------------------------------------------------------


def test_wrong_secret_key_is_exit_3(env: dict[str, str]) -> None:
    line = _fails(
        _invoke({**env, "HUAWEICLOUD_SDK_SK": "wrong"}, "tasks", "list"),
        3,
        "401",
        "HUAWEICLOUD_SDK_SK",
    )
    assert "wrong" not in line.replace("wrong-", "")  # the secret value is never shown


def test_expired_token_is_exit_3(env: dict[str, str]) -> None:
    token_env = {k: v for k, v in env.items() if not k.startswith("HUAWEICLOUD_SDK_")}
    token_env.update(WSNB_AUTH_TOKEN="an-expired-token", HUAWEICLOUD_SDK_PROJECT_ID="p")
    line = _fails(_invoke(token_env, "tasks", "list"), 3, "401", "WSNB_AUTH_TOKEN")
    assert "an-expired-token" not in line


def test_missing_credentials_are_exit_3(env: dict[str, str], tmp_path: Path) -> None:
    bare = {k: v for k, v in env.items() if not k.startswith("HUAWEICLOUD_SDK_")}
    bare["HUAWEICLOUD_SDK_CREDENTIALS_FILE"] = str(tmp_path / "none.ini")
    _fails(_invoke(bare, "tasks", "list"), 3, "none.ini")
    half = {**bare, "HUAWEICLOUD_SDK_AK": "AK-only"}
    _fails(_invoke(half, "tasks", "list"), 3, "HUAWEICLOUD_SDK_SK")


def test_forbidden_is_exit_3(emulator: Emulator, env: dict[str, str]) -> None:
    emulator.control.add_fault(operation="list_tasks", status=403, error_code="WKS.00010099")
    _fails(_invoke(env, "tasks", "list"), 3, "403")


# --- connection and endpoint (4) ---------------------------------------------------------------


def test_connection_refused_is_exit_4(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wsnb.client.time.sleep", lambda _: None)  # skip the retries' backoff
    endpoint = f"http://127.0.0.1:{_free_port()}"
    _fails(
        _invoke({**env, "WSNB_ENDPOINT": endpoint}, "tasks", "list"), 4, endpoint, "WSNB_ENDPOINT"
    )


def test_wrong_endpoint_404_is_exit_4(emulator: Emulator, env: dict[str, str]) -> None:
    wrong = {**env, "WSNB_ENDPOINT": emulator.endpoint + "/not-workspace"}
    _fails(_invoke(wrong, "tasks", "list"), 4, "404", "endpoint")


def test_server_errors_are_exit_4(emulator: Emulator, env: dict[str, str]) -> None:
    emulator.control.add_fault(operation="list_tasks", status=500)
    _fails(_invoke(env, "tasks", "list"), 4, "500")


def test_bad_endpoint_setting_is_exit_2(env: dict[str, str]) -> None:
    _fails(_invoke({**env, "WSNB_ENDPOINT": "ftp://x"}, "tasks", "list"), 2, "http")


# --- the ids file (2) and defect 5: a BOM no longer hides the first id -------------------------


def test_ids_file_with_utf8_bom_and_crlf_deletes_every_id(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = emulator.control.seed(4, seed=51)
    ids_file = tmp_path / "ids.txt"
    text = "\r\n".join([ids[0], "# a comment", "", "  " + ids[1] + "  ", ids[2]]) + "\r\n"
    ids_file.write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = _invoke(env, "tasks", "delete", "--ids-file", str(ids_file), "--yes", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "3 deleted" in result.output
    assert emulator.control.task_ids() == [ids[3]]


def test_ids_from_stdin_with_bom(emulator: Emulator, env: dict[str, str]) -> None:
    ids = emulator.control.seed(2, seed=52)
    text = "\ufeff" + "\n".join(ids) + "\n"
    result = _invoke(
        env, "tasks", "delete", "--ids-file", "-", "--yes", "--no-progress", input=text
    )
    assert result.exit_code == 0, result.output
    assert emulator.control.task_ids() == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("\ufeffa\nb\n".encode("utf-16"), ["UTF-16", "UTF-8"]),
        ("a\nb\n".encode("utf-16-le"), ["NUL", "UTF-8"]),
        ("a\nb\n".encode("utf-32"), ["UTF-32", "UTF-8"]),
        (b"abc\n\xff\xfe\xfa\n", ["not valid UTF-8", "line 2"]),
        ("caf\u00e9\n".encode("latin-1"), ["not valid UTF-8"]),
    ],
    ids=["utf16-bom", "utf16-no-bom", "utf32", "junk", "latin1"],
)
def test_badly_encoded_ids_file_is_exit_2(
    emulator: Emulator, env: dict[str, str], tmp_path: Path, content: bytes, words: list[str]
) -> None:
    emulator.control.seed(2, seed=53)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_bytes(content)
    result = _invoke(env, "tasks", "delete", "--ids-file", str(ids_file), "--yes", "--no-progress")
    _fails(result, 2, str(ids_file), *words)
    assert emulator.control.requests() == []  # refused before any call
    restore = _invoke(env, "runs", "restore", "1", "--ids-file", str(ids_file), "--yes")
    _fails(restore, 2, str(ids_file))


def test_missing_ids_file_is_exit_2(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.txt"
    result = _invoke(env, "tasks", "delete", "--ids-file", str(missing), "--yes")
    _fails(result, 2, "nope.txt")
    assert emulator.control.requests() == []
    _fails(_invoke(env, "tasks", "delete", "--ids-file", str(tmp_path), "--yes"), 2)


# --- the ledger (5) ----------------------------------------------------------------------------


def test_corrupt_ledger_is_exit_5(emulator: Emulator, env: dict[str, str], tmp_path: Path) -> None:
    ids = emulator.control.seed(2, seed=54)
    bad = tmp_path / "ledger.sqlite"
    bad.write_text("this is not a database\n" * 100)
    env = {**env, "WSNB_LEDGER": str(bad)}
    _fails(_invoke(env, "runs", "list"), 5, str(bad), "--ledger")
    _fails(_invoke(env, "runs", "show", "1"), 5, str(bad))
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids))
    result = _invoke(env, "tasks", "delete", "--ids-file", str(ids_file), "--yes", "--no-progress")
    _fails(result, 5, str(bad))
    assert [e for e in emulator.control.requests() if e["operation"] == "batch_delete"] == []
    assert len(emulator.control.task_ids()) == 2


def test_ledger_in_an_impossible_place_is_exit_5(env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _fails(_invoke({**env, "WSNB_LEDGER": str(blocker / "ledger.sqlite")}, "runs", "list"), 5)


def test_unknown_run_is_exit_2(env: dict[str, str]) -> None:
    _fails(_invoke(env, "runs", "show", "7"), 2, "no run 7")
    _fails(_invoke(env, "runs", "resume", "7", "--no-progress"), 2, "no run 7")
    _fails(_invoke(env, "runs", "restore", "7", "--yes"), 2, "no run 7")


# --- runs that finish but are not OK (1) -------------------------------------------------------


def test_delete_run_not_ok_is_exit_1_with_one_error_line(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = emulator.control.seed(3, seed=55)
    emulator.control.add_fault(operation="batch_delete", status=500, count=100)
    emulator.control.add_fault(operation="delete_task", status=500, count=100)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids))
    args = ["--ids-file", str(ids_file), "--yes", "--no-progress", "--no-verify"]
    result = _invoke(env, "tasks", "delete", *args)
    line = _fails(result, 1, "run 1", "runs show 1")
    assert "NEEDS ATTENTION" in result.stdout and "NEEDS ATTENTION" not in line


def test_resume_and_restore_not_ok_are_exit_1(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    ids = emulator.control.seed(4, seed=58)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids[:2]))
    emulator.control.add_fault(operation="batch_delete", status=500, count=100)
    emulator.control.add_fault(operation="delete_task", status=500, count=100)
    args = ["--ids-file", str(ids_file), "--yes", "--no-progress", "--no-verify"]
    _fails(_invoke(env, "tasks", "delete", *args), 1, "run 1")
    resumed = _invoke(env, "runs", "resume", "1", "--no-progress")
    _fails(resumed, 1, "run 1")
    assert "NEEDS ATTENTION" in resumed.stdout
    emulator.control.clear_faults()
    ids_file.write_text("\n".join(ids[2:]))
    assert _invoke(env, "tasks", "delete", *args).exit_code == 0  # run 2 deletes two
    emulator.control.add_fault(operation="create_task", status=500, count=100)
    restored = _invoke(env, "runs", "restore", "2", "--yes")
    _fails(restored, 1, "2 of 2", "run 2")


def test_cap_exceeded_is_exit_2(emulator: Emulator, env: dict[str, str]) -> None:
    emulator.control.seed(5, seed=56)
    result = _invoke(env, "tasks", "delete", "--all", "--max", "3", "--no-progress", input="y\n")
    _fails(result, 2, "--max is 3", "--max 5")
    assert "Delete 5" not in result.output  # refused before asking
    assert len(emulator.control.task_ids()) == 5


# --- internal errors (70) and --debug ----------------------------------------------------------


def test_unexpected_error_is_exit_70_and_names_debug(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("wsnb.selection.select_tasks", boom)
    _fails(_invoke(env, "tasks", "list"), 70, "ZeroDivisionError", "a bug", "--debug")


def _wsnb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("WSNB_", "HUAWEICLOUD_"))}
    return subprocess.run(
        [sys.executable, "-m", "wsnb", *args],
        capture_output=True, text=True, env={**environ, **env}, timeout=120,
    )  # fmt: skip


def test_a_real_process_prints_one_line_and_debug_the_traceback(env: dict[str, str]) -> None:
    bad = {**env, "HUAWEICLOUD_SDK_SK": "wrong"}
    done = _wsnb(bad, "tasks", "list")
    assert done.returncode == 3
    assert done.stderr.count("Error:") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("Error: ") and len(done.stderr.strip().splitlines()) == 1
    debug = _wsnb(bad, "--debug", "tasks", "list")
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert "AuthenticationError" in debug.stderr
    env_debug = _wsnb({**bad, "WSNB_DEBUG": "1"}, "tasks", "list")
    assert env_debug.returncode != 0 and "Traceback" in env_debug.stderr


# --- wsnb emulator serve: bad options are exit 2 before anything starts ------------------------


def _serve_fails(tmp_path: Path, *args: str) -> str:
    done = _wsnb({}, "emulator", "serve", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "listening" not in done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["--fault-rate", "2"], "--fault-rate"),
        (["--fault-status", "200"], "--fault-status"),
        (["--writes-per-minute", "-1"], "--writes-per-minute"),
        (["--reads-per-minute", "0"], "--reads-per-minute"),
        (["--tasks", "-5"], "--tasks"),
        (["--port", "70000"], "--port"),
        (["--ak", "ONLYAK"], "--sk"),
    ],
)
def test_serve_rejects_bad_options(tmp_path: Path, args: list[str], word: str) -> None:
    assert word in _serve_fails(tmp_path, *args)


def test_serve_rejects_bad_db_paths(tmp_path: Path) -> None:
    assert "does not exist" in _serve_fails(tmp_path, "--db", str(tmp_path / "no" / "emu.db"))
    notdb = tmp_path / "notdb"
    notdb.write_text("hello, I am text\n" * 200)
    assert "not a SQLite database" in _serve_fails(tmp_path, "--db", str(notdb))
    ledger = tmp_path / "ledger.sqlite"
    from wsnb.ledger import Ledger

    Ledger(ledger).close()
    assert "not an emulator" in _serve_fails(tmp_path, "--db", str(ledger))


def test_serve_rejects_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert "--port" in _serve_fails(tmp_path, "--port", str(port))


# --- wsnb run / demo -----------------------------------------------------------------------------


def test_run_with_a_broken_notebook_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("garbage")
    _fails(CliRunner().invoke(cli, ["run", str(bad), "-o", str(tmp_path / "o")]), 2, "bad.ipynb")


def test_run_into_an_impossible_folder_is_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, ["run", "select", "-o", str(blocker / "sub")])
    _fails(result, 2, str(blocker / "sub"))


def test_run_with_an_unknown_kernel_is_exit_2(tmp_path: Path) -> None:
    args = ["run", "select", "-o", str(tmp_path / "o"), "--kernel", "no-such-kernel"]
    _fails(CliRunner().invoke(cli, args), 2, "no-such-kernel")


@pytest.mark.parametrize(
    "args", [["--tasks", "-5"], ["--max-deletions", "-1"], ["-p", "max_deletions", "abc"]]
)
def test_demo_and_run_bad_values_are_exit_2(tmp_path: Path, args: list[str]) -> None:
    command = ["run", "cleanup"] if args[0] == "-p" else ["demo"]
    result = CliRunner().invoke(cli, [*command, *args, "-o", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("Error:") == 1 and not (tmp_path / "o").exists()


def test_report_in_a_missing_folder_is_refused_before_any_call(
    emulator: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    emulator.control.seed(2, seed=57)
    report = tmp_path / "no" / "r.json"
    result = _invoke(
        env, "tasks", "delete", "--all", "--yes", "--no-progress", "--report", str(report)
    )
    _fails(result, 2, str(report))
    assert emulator.control.requests() == [] and len(emulator.control.task_ids()) == 2
