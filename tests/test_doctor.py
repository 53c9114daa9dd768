"""wsnb.doctor and ``wsnb doctor``: every check against the real emulator on a socket.

Broken setups (wrong SK, odd project id, a skewed clock, a closed port, a proxy that is down, a
self-signed certificate, gateway answers injected as faults) must each give a row with a fix,
and never an exception.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import wsnb
from wsnb._retry import RateLimit
from wsnb.auth import Credentials
from wsnb.checkup import Check, DoctorReport, doctor
from wsnb.cli import cli
from wsnb.emulator import Emulator

NAMES = ["credentials", "endpoint", "dns", "tcp", "tls", "signed call", "clock", "throttle"]
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def statuses(report: DoctorReport) -> dict[str, str]:
    return {check.name: check.status for check in report}


def secrets_of(emulator: Emulator) -> list[str]:
    return [emulator.ak, emulator.sk, emulator.token]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_all_ok_against_the_emulator(emulator: Emulator) -> None:
    emulator.control.seed(5)
    with emulator.client() as client:
        listed = client.list_tasks_page(0, 50)["total_count"]
        report = doctor(client)
    assert listed is not None and listed > 0
    assert [check.name for check in report] == NAMES
    assert statuses(report) == dict.fromkeys(NAMES, "ok") | {"tls": "skip"}
    assert report.ok
    assert f"{listed} task(s) listed" in report["signed call"].detail
    assert report["tls"].detail == "not checked: plain http endpoint"
    assert "AK/SK passed in code" in report["credentials"].detail
    assert "200 reads and 100 writes a minute" in report["throttle"].detail
    assert "within" in report["clock"].detail
    text = str(report)
    assert text == report.table() and text.endswith("all good: 7 ok, 0 warn, 0 fail")
    for secret in secrets_of(emulator):
        assert secret not in text and secret not in repr(report)
    assert wsnb.doctor is doctor


@pytest.mark.parametrize(
    ("knobs", "listed"),
    [({}, "6 task(s) listed"), ({"total_count": "omit"}, "(no total_count in the answer)")],
)
def test_all_ok_against_the_live_profile(
    make_emulator: Any, knobs: dict[str, str], listed: str
) -> None:
    """The live service's shapes (APIGW codes, a total counting hidden LIFE_CYCLE tasks, or
    none at all) are a healthy setup too."""
    from wsnb.emulator import Profile

    emu = make_emulator(profile=Profile.preset("live", **knobs))
    emu.control.seed(6, seed=1)
    with emu.client() as client:
        report = doctor(client)
    assert statuses(report) == dict.fromkeys(NAMES, "ok") | {"tls": "skip"}, str(report)
    assert listed in report["signed call"].detail
    assert "None" not in report["signed call"].detail
    wrong = Credentials(ak=emu.ak, sk="not-the-right-secret-key-0000", project_id=None)
    with emu.client(credentials=wrong) as client:
        failed = doctor(client)
    assert "401 APIGW.0301" in failed["signed call"].detail
    assert "HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK belong together" in failed["signed call"].fix


def test_wrong_sk_is_an_auth_failure_with_the_fix(emulator: Emulator) -> None:
    wrong = Credentials(ak=emulator.ak, sk="not-the-right-secret-key-0000", project_id=None)
    with emulator.client(credentials=wrong) as client:
        report = doctor(client)
    assert not report.ok
    row = report["signed call"]
    assert row.status == "fail"
    assert "401 APIG.0301" in row.detail and "signature" in row.detail
    assert "HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK belong together" in row.fix
    assert statuses(report)["clock"] == "ok"  # the 401 still carried a Date
    assert "problems found" in str(report) and "fix: check that HUAWEICLOUD_SDK_AK" in str(report)
    assert "not-the-right-secret-key-0000" not in str(report)


def test_wrong_token_names_the_token_fix(emulator: Emulator) -> None:
    wrong = Credentials(token="not-a-valid-token-000000", project_id=emulator.project_id)
    with emulator.client(credentials=wrong) as client:
        report = doctor(client)
    assert report["signed call"].status == "fail"
    assert "IAM token is wrong or expired" in report["signed call"].fix
    assert "IAM token passed in code" in report["credentials"].detail


def test_project_id_that_does_not_look_like_one_warns(emulator: Emulator) -> None:
    with emulator.client(project_id="my-project") as client:
        report = doctor(client)
    row = report["credentials"]
    assert row.status == "warn"
    assert "'my-project' does not look like a Huawei Cloud project id" in row.detail
    assert "My Credentials > Projects" in row.fix
    assert report.ok  # a warning, not a failure: the emulator serves any project


def test_project_of_another_region_lists_nothing_and_says_why(emulator: Emulator) -> None:
    emulator.control.seed(2)
    with emulator.client(project_id="f" * 32) as client:
        report = doctor(client)
    assert report["credentials"].status == "ok"
    assert "0 task(s) listed" in report["signed call"].detail
    assert "the project id of another region" in report["signed call"].detail


def test_missing_project_id_fails_before_any_network(emulator: Emulator) -> None:
    creds = Credentials(ak=emulator.ak, sk=emulator.sk)
    report = doctor(endpoint=emulator.endpoint, credentials=creds)
    assert report["credentials"].status == "fail"
    assert "no project id" in report["credentials"].detail
    assert "HUAWEICLOUD_SDK_PROJECT_ID" in report["credentials"].fix
    assert report["endpoint"].status == "ok"
    assert all(report[name].status == "skip" for name in NAMES[2:])
    assert emulator.control.requests() == []


@pytest.mark.parametrize(("minutes", "ahead"), [(20, True), (-25, False)])
def test_skewed_clock_says_how_many_minutes_off(
    emulator: Emulator, minutes: int, ahead: bool
) -> None:
    def wall() -> datetime:
        return datetime.now(UTC) + timedelta(minutes=minutes)

    with emulator.client(wall_clock=wall) as client:
        report = doctor(client)
    side = "ahead of" if ahead else "behind"
    call = report["signed call"]
    assert call.status == "fail"
    assert f"your clock is {abs(minutes)} minutes off ({side} the server's)" in call.detail
    assert "NTP" in call.fix
    assert report["clock"].status == "fail"
    assert (
        report["clock"].detail == f"your clock is {abs(minutes)} minutes off ({side} the server's)"
    )
    assert not report.ok


def test_clock_a_few_minutes_off_warns(emulator: Emulator) -> None:
    with emulator.client(wall_clock=lambda: datetime.now(UTC) - timedelta(minutes=7)) as client:
        report = doctor(client)
    assert report["signed call"].status == "ok"  # within the gateway's 15 minutes
    assert report["clock"].status == "warn"
    assert "7 minutes off" in report["clock"].detail
    assert report.ok


def test_unreachable_endpoint_fails_reachability_without_a_traceback(emulator: Emulator) -> None:
    port = closed_port()
    with emulator.client(endpoint=f"http://127.0.0.1:{port}") as client:
        report = doctor(client, timeout=2)
    assert statuses(report) == {
        "credentials": "ok",
        "endpoint": "ok",
        "dns": "ok",
        "tcp": "fail",
        "tls": "skip",
        "signed call": "skip",
        "clock": "skip",
        "throttle": "ok",
    }
    assert f"cannot connect to endpoint 127.0.0.1:{port}" in report["tcp"].detail
    assert "Traceback" not in str(report)
    assert "HTTPS_PROXY" in report["tcp"].fix


def test_an_endpoint_that_cannot_be_parsed_is_a_row(emulator: Emulator) -> None:
    with emulator.client(endpoint="http://127.0.0.1:99999") as client:
        report = doctor(client)
    assert not report.ok
    row = report["doctor"]
    assert row.status == "fail" and "ValueError" in row.detail and "Port" in row.detail
    assert emulator.sk not in str(report)


def test_proxy_from_the_environment_is_checked_and_its_password_hidden(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:proxy-pass-word@127.0.0.1:{port}")
    creds = Credentials(ak=emulator.ak, sk=emulator.sk, project_id="0" * 32)
    report = doctor(region="cn-north-4", credentials=creds, timeout=2)
    assert f"via proxy http://127.0.0.1:{port}" in report["endpoint"].detail
    assert "(region cn-north-4, from argument)" in report["endpoint"].detail
    assert report["dns"].detail == "proxy 127.0.0.1 -> 127.0.0.1"
    assert report["tcp"].status == "fail" and "proxy 127.0.0.1" in report["tcp"].detail
    assert "proxy-pass-word" not in str(report)


def test_no_credentials_and_unknown_region_are_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "WSNB_AUTH_TOKEN", "WSNB_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    report = doctor(region="xx-nowhere-1")
    assert [check.name for check in report] == NAMES
    assert report["credentials"].status == "fail"
    assert "no credentials found" in report["credentials"].detail
    assert report["endpoint"].status == "fail"
    assert "unknown region 'xx-nowhere-1'" in report["endpoint"].detail
    assert "--region" in report["endpoint"].fix
    monkeypatch.delenv("WSNB_REGION", raising=False)
    assert "no endpoint or region given" in doctor()["endpoint"].detail


def test_hostile_credential_in_the_environment_is_a_row_without_the_value(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", emulator.ak)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", emulator.sk[:10] + "\r\n" + emulator.sk[10:])
    report = doctor(endpoint=emulator.endpoint)
    row = report["credentials"]
    assert row.status == "fail"
    assert row.detail.startswith("HUAWEICLOUD_SDK_SK contains a line break")
    assert emulator.sk[:10] not in str(report) and emulator.sk[10:] not in str(report)


@pytest.mark.parametrize(
    ("status", "code", "verdict", "fix"),
    [
        (403, "WKS.00010099", "fail", "enable it once in the Huawei Cloud console"),
        (429, "APIGW.0308", "warn", "another job is using the account's quota"),
        (403, "APIGW.0302", "fail", "IAM denies listing scheduled tasks"),
        (404, "APIGW.0101", "fail", "check the region or endpoint"),
        (503, "APIGW.0203", "fail", "the service is failing right now"),
    ],
)
def test_gateway_answers_become_rows(
    emulator: Emulator, status: int, code: str, verdict: str, fix: str
) -> None:
    emulator.control.add_fault(
        operation="list_tasks", status=status, error_code=code, error_msg="m", count=1
    )
    with emulator.client() as client:
        report = doctor(client)
    row = report["signed call"]
    assert (row.status, fix in row.fix) == (verdict, True)
    assert f"{status} {code}" in row.detail
    assert len(emulator.control.requests()) == 1  # one attempt, never retried


def test_throttle_headroom_without_a_client_rate_limit_warns(emulator: Emulator) -> None:
    with emulator.client(rate_limit=None) as client:
        report = doctor(client)
    assert report["throttle"].status == "warn"
    assert "client-side rate limiting is off" in report["throttle"].detail
    with emulator.client(rate_limit=RateLimit(reads_per_minute=30, writes_per_minute=None)) as c:
        assert "30 reads and unlimited writes" in doctor(c)["throttle"].detail


def test_report_container_and_html() -> None:
    report = DoctorReport(
        (
            Check("credentials", "ok", "fine"),
            Check("clock", "warn", "<off>", "sync & retry"),
        )
    )
    assert report.ok and [c.name for c in report] == ["credentials", "clock"]
    assert report["clock"].fix == "sync & retry"
    with pytest.raises(KeyError):
        report["nope"]
    assert "&lt;off&gt;" in report._repr_html_() and "sync &amp; retry" in report._repr_html_()
    assert "fix: sync & retry" in report.table()
    assert not DoctorReport((Check("tcp", "fail", "x", "y"),)).ok


# --- TLS against a local HTTPS server with a self-signed certificate ---------------------------


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"scheduled_tasks": [], "total_count": 0}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()
    thread.join()


def test_tls_with_an_untrusted_certificate_fails_with_the_fix(
    https_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    url, _ = https_server
    creds = Credentials(ak="AKDOCTORTEST0001", sk="sk-doctor-test-000000", project_id="a" * 32)
    report = doctor(endpoint=url, credentials=creds, timeout=3)
    assert report["tls"].status == "fail"
    assert "does not verify" in report["tls"].detail
    assert "SSL_CERT_FILE" in report["tls"].fix
    assert report["signed call"].status == "skip"


def test_tls_trusted_through_ssl_cert_file_passes(
    https_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert = https_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    creds = Credentials(ak="AKDOCTORTEST0001", sk="sk-doctor-test-000000", project_id="a" * 32)
    report = doctor(endpoint=url, credentials=creds, timeout=3)
    assert report["tls"].status == "ok" and "with 127.0.0.1" in report["tls"].detail
    assert report["signed call"].status == "ok"
    assert report["clock"].status == "ok"  # http.server sends a Date header
    assert report.ok


# --- the command ---------------------------------------------------------------------------------


def _env(emulator: Emulator, tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {
        "HUAWEICLOUD_SDK_AK": emulator.ak,
        "HUAWEICLOUD_SDK_SK": emulator.sk,
        "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id,
        "HOME": str(tmp_path),
        **overrides,
    }


def test_cli_exit_codes(emulator: Emulator, tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(
        cli, ["doctor", "--endpoint", emulator.endpoint], env=_env(emulator, tmp_path)
    )
    assert good.exit_code == 0, good.output
    assert "all good" in good.output and "[ ok ] signed call" in good.output
    bad_sk = _env(emulator, tmp_path, HUAWEICLOUD_SDK_SK="wrong-secret-key-123456")
    bad = runner.invoke(cli, ["doctor", "--endpoint", emulator.endpoint], env=bad_sk)
    assert bad.exit_code == 1
    assert "[FAIL] signed call" in bad.output and "wrong-secret-key-123456" not in bad.output
    closed = f"http://127.0.0.1:{closed_port()}"
    down = runner.invoke(
        cli, ["doctor", "--endpoint", closed, "--timeout", "2"], env=_env(emulator, tmp_path)
    )
    assert down.exit_code == 1 and "[FAIL] tcp" in down.output
    assert down.exception is None or isinstance(down.exception, SystemExit)
    other = runner.invoke(
        cli,
        ["doctor", "--endpoint", emulator.endpoint, "--project-id", "my-project"],
        env=_env(emulator, tmp_path),
    )
    assert other.exit_code == 0 and "[WARN] credentials" in other.output


def test_cli_help_does_not_import_pandas() -> None:
    code = (
        "import sys\n"
        "from wsnb.cli import main\n"
        "try:\n"
        "    main(['doctor', '--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--project-id" in out.stdout
    assert out.stdout.strip().endswith("False")
