"""No AK, SK or token in anything the notebook runs produced (notebooks, HTML, CSV, JSON, logs).

Scans the session's ``notebook-runs`` folder: the outputs of ``tests/test_notebooks.py`` (keys of
the shared emulator) and of the ``wsnb demo`` run (known demo keys), whichever ran this session.
The scanner also finds a secret in the shapes a hostile value takes once written: stripped of a
pasted line ending, JSON-escaped or ``repr``-escaped (``\\r``). And a credential the HTTP stack
refuses (a header value ending in CR) must leave no trace in the ledger or the reports.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from wsnb._retry import RetryPolicy
from wsnb.auth import Credentials
from wsnb.deletion import delete_tasks
from wsnb.emulator import Emulator

SCANNED = (".ipynb", ".html", ".csv", ".json", ".log", ".sqlite")


def _shapes(value: str) -> set[bytes]:
    """The bytes a secret may be written as: raw, stripped, JSON- and repr-escaped."""
    forms = {value, value.strip(), json.dumps(value)[1:-1], repr(value)[1:-1]}
    return {form.encode("utf-8", "backslashreplace") for form in forms if form.strip()}


def find_secrets(root: Path, secrets: dict[str, str]) -> list[tuple[Path, str]]:
    """(file, secret name) for every file under ``root`` that contains a secret in any shape."""
    needles = {name: _shapes(value) for name, value in secrets.items() if value}
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [(path, name) for name, shapes in needles.items() if any(s in data for s in shapes)]
    return hits


def test_the_scanner_finds_a_planted_secret(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "out.ipynb").write_text('{"source": "sk = \\"PLANTED-SK-123\\""}')
    (tmp_path / "clean.log").write_text("nothing here")
    hits = find_secrets(tmp_path, {"sk": "PLANTED-SK-123", "ak": "NOT-THERE"})
    assert hits == [(tmp_path / "deep" / "out.ipynb", "sk")]


@pytest.mark.parametrize(
    ("written", "secret"),
    [
        ('{"sk": "PLANTED-SK-123\\r\\n"}', "PLANTED-SK-123\r\n"),  # JSON-escaped CRLF
        ("Illegal header value b'Access=PLANTED-AK-9\\r, Sig'", "PLANTED-AK-9\r"),  # repr
        ("token PLANTED-TOKEN-77 in a log", "\tPLANTED-TOKEN-77\n"),  # stripped core
        ('"t\\u00e9st-PLANTED-SK"', "t\u00e9st-PLANTED-SK"),  # JSON \u escape of unicode
    ],
)
def test_the_scanner_finds_hostile_shapes(tmp_path: Path, written: str, secret: str) -> None:
    (tmp_path / "out.log").write_text(written, encoding="utf-8")
    assert find_secrets(tmp_path, {"secret": secret}) == [(tmp_path / "out.log", "secret")]


def test_a_credential_the_http_stack_refuses_leaves_no_trace(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A credential ending in CR (forced past validation): h11 quotes the whole Authorization
    header in its error; ledger, HTML, CSV and JSON reports must still hold no secret."""
    ids = emulator.control.seed(3)
    credentials = Credentials(ak=emulator.ak, sk=emulator.sk, project_id=emulator.project_id)
    object.__setattr__(credentials, "ak", emulator.ak + "\r")
    client = emulator.client(credentials=credentials, retry=RetryPolicy(max_attempts=1))
    with client:
        report = delete_tasks(
            client, ids[:2], ledger=tmp_path / "ledger.sqlite", progress=False, max_deletions=2
        )
    assert report.summary["deleted"] == 0 and set(emulator.control.task_ids()) == set(ids)
    report.to_html(tmp_path / "report.html")
    report.to_csv(tmp_path / "report.csv")
    report.to_json(tmp_path / "report.json")
    ledger = (tmp_path / "ledger.sqlite").read_bytes()
    assert b"Illegal header value b'<redacted>'" in ledger  # the failure was recorded...
    secrets = {"AK": emulator.ak + "\r", "SK": emulator.sk, "Signature": "Signature="}
    assert find_secrets(tmp_path, secrets) == []  # ...without the secrets


@pytest.mark.slow  # needs the wsnb demo run
def test_no_secret_in_any_output(
    demo_run: tuple[Path, str, dict[str, str]],
    _shared_emulator: Emulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.getbasetemp() / "notebook-runs"
    _, _, demo_keys = demo_run
    emu = _shared_emulator
    secrets = {
        "demo AK": demo_keys["ak"],
        "demo SK": demo_keys["sk"],
        "emulator AK": emu.ak,
        "emulator SK": emu.sk,
        "emulator token": emu.token,
    }
    kinds = Counter(p.suffix for p in root.rglob("*") if p.is_file())
    for suffix in (".ipynb", ".html", ".csv", ".json", ".log"):
        assert kinds[suffix] > 0, f"nothing of type {suffix} was produced to scan: {kinds}"
    assert find_secrets(root, secrets) == []
