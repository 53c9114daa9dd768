"""wsnb.errors: the error tree and parsing Huawei's error envelope (the SDK is the oracle)."""

from __future__ import annotations

import json
from email.utils import formatdate
from typing import Any

import httpx
import pytest
import requests
from huaweicloudsdkcore.exceptions import exceptions as sdk_exceptions
from huaweicloudsdkcore.exceptions.exception_handler import DefaultExceptionHandler
from hypothesis import given, settings
from hypothesis import strategies as st

from wsnb.errors import (
    MAX_TEXT,
    MAX_TITLE,
    AuthenticationError,
    BadRequestError,
    ClockSkewError,
    ForbiddenError,
    NotFoundError,
    OutcomeUnknownError,
    RequestTooLargeError,
    ServerError,
    ServiceNotEnabledError,
    ThrottledError,
    TransportError,
    WorkspaceError,
    error_from_response,
    gateway_number,
    html_title,
    is_throttle_code,
    parse_retry_after,
)

PATH = "/v2/0123456789abcdef0123456789abcdef/scheduled-tasks/batch-delete"
URL = f"https://workspace.cn-north-4.myhuaweicloud.com{PATH}"
RID = "5c2f3c5b0a0f4b6c9a3e6f2d1b0c9e8d"


def respond(
    status: int,
    body: Any = None,
    *,
    text: str | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> httpx.Response:
    content = text if text is not None else ("" if body is None else json.dumps(body))
    return httpx.Response(
        status,
        content=content.encode(),
        headers={"X-Request-Id": RID, **(headers or {})},
        request=httpx.Request(method, URL),
    )


def sdk_parse(status: int, content: str) -> sdk_exceptions.ServiceResponseException:
    """What the official SDK makes of the same response."""
    response = requests.Response()
    response.status_code = status
    response._content = content.encode()
    response.encoding = "utf-8"
    response.headers["X-Request-Id"] = RID
    with pytest.raises(sdk_exceptions.ServiceResponseException) as info:
        DefaultExceptionHandler().handle_exception(None, response)
    return info.value


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (400, {"error_code": "WKS.0001", "error_msg": "bad request"}, BadRequestError, "WKS.0001"),
        (401, {"error_code": "APIG.0301", "error_msg": "verify aksk"}, AuthenticationError, None),
        (403, {"error_code": "APIG.0302", "error_msg": "denied"}, ForbiddenError, None),
        (
            403,
            {"error_code": "WKS.00010099", "error_msg": "not enabled"},
            ServiceNotEnabledError,
            None,
        ),
        (404, {"error_code": "APIG.0101", "error_msg": "no such API"}, NotFoundError, None),
        (413, {"error_code": "APIG.0201", "error_msg": "too large"}, RequestTooLargeError, None),
        (409, {"error_code": "WKS.00010032", "error_msg": "conflict"}, WorkspaceError, None),
        (429, {"error_code": "APIG.0308", "error_msg": "over ratelimit"}, ThrottledError, None),
        (500, {"error_code": "WKS.0202", "error_msg": "internal"}, ServerError, None),
        (502, {"error_code": "APIG.0202", "error_msg": "bad gateway"}, ServerError, None),
        (503, {"error_code": "APIG.0203", "error_msg": "unavailable"}, ServerError, None),
        (504, {"error_code": "APIG.0204", "error_msg": "timeout"}, ServerError, None),
        # throttling recognised by its code even on an unusual status
        (403, {"error_code": "APIG.0308", "error_msg": "over ratelimit"}, ThrottledError, None),
    ],
)
def test_status_maps_to_class_and_matches_the_sdk(
    status: int, body: dict[str, str], cls: type[WorkspaceError], code: str | None
) -> None:
    error = error_from_response(respond(status, body), "batch_delete")
    assert type(error) is cls
    assert error.status == status
    assert error.request_id == RID
    sdk = sdk_parse(status, json.dumps(body))
    assert (error.error_code, error.error_msg) == (sdk.error_code, sdk.error_msg)
    assert isinstance(sdk, sdk_exceptions.ServerResponseException) == (status >= 500)
    assert isinstance(error, ServerError) == (status >= 500)


@pytest.mark.parametrize(
    "body",
    [
        {"errorCode": "WKS.0001", "errorMsg": "camel"},
        {"code": "WKS.0001", "message": "plain"},
        {"error": {"error_code": "WKS.0001", "error_msg": "nested"}},
        {"outer": {"inner": {"code": "WKS.0001", "message": "deep"}}, "x": 1},
        {"error_code": "WKS.0001"},  # no message: the SDK falls back to status + raw text
        {"unrelated": True},
        ["not", "an", "object"],
        "just a string",
    ],
)
def test_envelope_variants_parse_like_the_sdk(body: Any) -> None:
    content = json.dumps(body)
    error = error_from_response(respond(400, text=content), "get_task")
    sdk = sdk_parse(400, content)
    assert error.error_code == sdk.error_code
    assert error.error_msg == sdk.error_msg


def test_task_missing_flag_and_readable_str() -> None:
    body = {"error_code": "WKS.0001", "error_msg": "The scheduled task does not exist."}
    error = error_from_response(respond(400, body), "batch_delete")
    assert isinstance(error, BadRequestError)
    assert error.task_missing
    assert (error.operation, error.method, error.path) == ("batch_delete", "POST", PATH)
    assert str(error) == (
        "400 WKS.0001: The scheduled task does not exist. "
        f"(batch_delete POST {PATH}, request_id={RID})"
    )
    other = error_from_response(respond(400, {"error_code": "WKS.0001", "error_msg": "x"}), None)
    assert not other.task_missing
    pool = {"error_code": "WKS.0001", "error_msg": "The desktop pool does not exist."}
    assert not error_from_response(respond(400, pool), None).task_missing


def test_forbidden_keeps_encoded_authorization_message_and_detail() -> None:
    body = {
        "error_code": "APIG.0302",
        "error_msg": "denied by policy",
        "error_detail": "workspace:scheduledTasks:batchDelete",
        "encoded_authorization_message": "ENCODED-xyz",
    }
    error = error_from_response(respond(403, body), "batch_delete")
    assert isinstance(error, ForbiddenError)
    assert error.encoded_authorization_message == "ENCODED-xyz"
    assert error.error_detail == "workspace:scheduledTasks:batchDelete"
    assert sdk_parse(403, json.dumps(body)).encoded_auth_msg == "ENCODED-xyz"


def test_gateway_request_id_from_the_body_when_no_header() -> None:
    response = httpx.Response(
        401,
        json={"error_code": "APIG.0301", "error_msg": "x", "request_id": "body-rid"},
        request=httpx.Request("GET", URL),
    )
    assert error_from_response(response, "list_tasks").request_id == "body-rid"


@pytest.mark.parametrize(
    ("page", "content_type", "title"),
    [
        (
            "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>SECRET-BODY</body>",
            None,
            "502 Bad Gateway",
        ),
        (
            "<!DOCTYPE html><html><head><TITLE>\n  Access &amp; denied\x07 </TITLE></head>"
            "<body><script>SECRET-BODY</script></body></html>",
            "text/html; charset=utf-8",
            "Access & denied",
        ),
        ("<html><body><h1>Proxy <b>Error</b></h1>SECRET-BODY</body></html>", None, "Proxy Error"),
        ("<p>SECRET-BODY</p>", "text/html", ""),
        ("<title>" + "T" * 500 + "</title>SECRET-BODY", "text/html", "T" * (MAX_TITLE - 1) + "…"),
    ],
)
def test_html_page_from_a_proxy_is_summarised_by_its_title(
    page: str, content_type: str | None, title: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else None
    error = error_from_response(respond(502, text=page + "x" * 5000, headers=headers), "get_task")
    assert isinstance(error, ServerError)
    assert error.error_code == "502"
    assert error.error_msg is not None
    assert "a proxy or gateway answered with an HTML page instead of JSON (HTTP 502" in str(error)
    assert (f"page title {title!r}" in error.error_msg) == bool(title)
    assert "SECRET-BODY" not in str(error) and "xxxxx" not in str(error)
    assert len(error.error_msg) < 100 + MAX_TITLE
    assert error.hint is not None and "HTTPS_PROXY" in str(error)
    assert html_title(page) == title


def test_plain_text_body_stays_flat_and_truncated() -> None:
    text = "upstream\nconnect error " + "x" * 2000
    error = error_from_response(respond(502, text=text), "list_tasks")
    assert error.error_msg is not None
    assert error.error_msg.startswith("upstream connect error x")
    assert len(error.error_msg) == MAX_TEXT and error.error_msg.endswith("…")


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        # the live cloud-service gateway spells its codes APIGW.*; APIG.* gateways exist too
        (401, "APIGW.0301", AuthenticationError),
        (429, "APIGW.0308", ThrottledError),
        (404, "APIGW.0101", NotFoundError),
        (413, "APIGW.0201", RequestTooLargeError),
        (504, "APIGW.0201", ServerError),  # same code, other status: the status decides
        (403, "APIGW.0308", ThrottledError),  # a throttling code is never a real denial
        (418, "APIGW.0301", AuthenticationError),  # unusual status: the code decides
        (499, "APIG.0101", NotFoundError),
        (499, "apigw.0308", ThrottledError),
        (400, "APIGW.0301", BadRequestError),  # a known status wins over the code
        (418, "WKS.0001", WorkspaceError),
        (599, "APIGW.0301", ServerError),
        (409, "WKS.00010099", ServiceNotEnabledError),
        (400, "WKS.00010099", BadRequestError),
    ],
)
def test_status_first_then_gateway_code_either_prefix(
    status: int, code: str, cls: type[WorkspaceError]
) -> None:
    error = error_from_response(respond(status, {"error_code": code, "error_msg": "m"}), None)
    assert type(error) is cls
    assert error.error_code == code


def test_gateway_number_and_throttle_code() -> None:
    assert gateway_number("APIG.0308") == gateway_number("APIGW.0308") == "0308"
    assert gateway_number("WKS.0308") is None and gateway_number(None) is None
    assert is_throttle_code("APIGW.0308") and is_throttle_code("APIG.0308")
    assert not is_throttle_code("APIGW.0301") and not is_throttle_code("0308")


def _signed_response(status: int, sent: str, served: str | None) -> httpx.Response:
    request = httpx.Request("GET", URL, headers={"X-Sdk-Date": sent})
    body = {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}
    headers = {"Date": served} if served else {}
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("sent", "skew", "side"),
    [
        ("20261130T082000Z", 1200.0, "ahead of"),
        ("20261130T073500Z", -1500.0, "behind"),
        ("20261130T091500Z", 4500.0, "ahead of"),
    ],
)
def test_401_with_a_skewed_clock_says_how_far_off(sent: str, skew: float, side: str) -> None:
    served = "Mon, 30 Nov 2026 08:00:00 GMT"
    error = error_from_response(_signed_response(401, sent, served), "list_tasks")
    assert isinstance(error, ClockSkewError) and isinstance(error, AuthenticationError)
    assert error.skew == skew
    minutes = round(abs(skew) / 60)
    assert f"your clock is {minutes} minutes off ({side} the server's)" in str(error)
    assert "NTP" in str(error)


@pytest.mark.parametrize(
    ("status", "sent", "served"),
    [
        (401, "20261130T081400Z", "Mon, 30 Nov 2026 08:00:00 GMT"),  # 14 min: not the cause
        (401, "20261130T082000Z", None),  # no Date: cannot tell
        (401, "garbage", "Mon, 30 Nov 2026 08:00:00 GMT"),
        (403, "20261130T082000Z", "Mon, 30 Nov 2026 08:00:00 GMT"),  # not an auth failure
    ],
)
def test_no_skew_error_without_evidence(status: int, sent: str, served: str | None) -> None:
    error = error_from_response(_signed_response(status, sent, served), "list_tasks")
    assert not isinstance(error, ClockSkewError)
    assert "clock" not in str(error)


def test_service_not_enabled_and_too_large_carry_the_remedy() -> None:
    body = {"error_code": "WKS.00010099", "error_msg": "The service is not enabled."}
    error = error_from_response(respond(403, body), "list_tasks")
    assert isinstance(error, ServiceNotEnabledError) and isinstance(error, ForbiddenError)
    assert "enable it once in the Huawei Cloud console" in str(error)
    big = error_from_response(respond(413, text=""), "batch_delete")
    assert isinstance(big, RequestTooLargeError)
    assert big.limit_bytes == 12 * 1024 * 1024
    assert "12 MB" in str(big) and "5000" in str(big)


@pytest.mark.parametrize(("status", "reason"), [(500, "Internal Server Error"), (404, "Not Found")])
def test_empty_error_body_uses_status_and_reason(status: int, reason: str) -> None:
    error = error_from_response(respond(status), "get_task", clock=lambda: 0.0)
    assert error.error_code == str(status)
    assert error.error_msg == reason
    assert str(error).startswith(f"{status} {status}: {reason} (get_task POST ")


def test_retry_after_seconds_and_http_date() -> None:
    body = {"error_code": "APIG.0308", "error_msg": "over ratelimit"}
    seconds = error_from_response(respond(429, body, headers={"Retry-After": "7"}), "list_tasks")
    assert isinstance(seconds, ThrottledError)
    assert seconds.retry_after == 7.0
    now = 1_750_000_000.0
    dated = respond(429, body, headers={"Retry-After": formatdate(now + 42, usegmt=True)})
    assert error_from_response(dated, "list_tasks", clock=lambda: now).retry_after == 42.0
    assert error_from_response(respond(429, body), "list_tasks").retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: go now
        ("Wed, 21 Oct 2015 07:29:40 GMT", 40.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = 1_445_412_540.0  # 2015-10-21 07:29:00 UTC
    assert parse_retry_after(value, now=now) == expected


def test_transport_and_outcome_errors_carry_context() -> None:
    cause = TransportError("ReadTimeout", sent=True, operation="delete_task")
    outcome = OutcomeUnknownError(
        "outcome unknown", cause=cause, operation="delete_task", method="DELETE", path="/v2/p/x"
    )
    assert outcome.cause is cause and outcome.__cause__ is cause
    assert outcome.status is None
    assert str(outcome) == "outcome unknown (delete_task DELETE /v2/p/x)"
    assert isinstance(outcome, WorkspaceError) and not isinstance(outcome, TransportError)
    assert "delete_task" in repr(outcome)


def test_response_without_request_still_parses() -> None:
    error = error_from_response(httpx.Response(400, json={"code": "C", "message": "m"}))
    assert (error.method, error.path, error.error_code) == (None, None, "C")
    assert str(error) == "400 C: m"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["error_code", "error_msg", "code", "message", "errorCode", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@pytest.mark.slow
@settings(deadline=None)  # a shared 2-core box: no per-example timing
@given(status=st.sampled_from([400, 401, 403, 404, 409, 413, 429, 500, 502, 503]), body=_json)
def test_any_json_body_gives_a_readable_error(status: int, body: Any) -> None:
    error = error_from_response(respond(status, text=json.dumps(body)), "list_tasks")
    assert isinstance(error, WorkspaceError)
    assert isinstance(error.error_code, str) and error.error_code
    assert isinstance(error.error_msg, str) and error.error_msg
    assert str(error).startswith(f"{status} ")
    assert f"list_tasks POST {PATH}, request_id={RID}" in str(error)


@settings(deadline=None)  # a shared 2-core box: no per-example timing
@given(st.binary(max_size=400))
def test_any_bytes_body_gives_an_error(content: bytes) -> None:
    response = httpx.Response(500, content=content, request=httpx.Request("GET", URL))
    error = error_from_response(response, "get_task")
    assert isinstance(error, ServerError)
    assert error.error_msg and len(error.error_msg) <= MAX_TEXT
