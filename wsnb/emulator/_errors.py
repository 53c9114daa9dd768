"""The Huawei error envelope the emulator answers with, and the codes it uses."""

from __future__ import annotations

from typing import Final

BAD_REQUEST: Final = "WKS.0001"
INTERNAL: Final = "WKS.0202"
AUTH_FAILED: Final = "APIG.0301"
NO_SUCH_API: Final = "APIG.0101"
TOO_LARGE: Final = "APIG.0201"
THROTTLED: Final = "APIG.0308"

TASK_MISSING: Final = "The scheduled task does not exist."
RECORD_MISSING: Final = "The scheduled task record does not exist."
NO_SUCH_API_MSG: Final = "The API does not exist or has not been published in the environment."


class ApiError(Exception):
    """An error answer: HTTP status plus Huawei's ``error_code`` / ``error_msg``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
        verbatim: bool = False,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}  # more body fields (``encoded_authorization_message``)
        self.verbatim = verbatim  # send ``code`` as given (an injected fault's), never re-prefixed

    def body(self, request_id: str, code: str | None = None) -> dict[str, str]:
        """The JSON body (``code`` overrides the error code, e.g. with the profile's gateway
        prefix); gateway (``APIG.*``/``APIGW.*``) errors also carry the request id, as the
        gateway does (ISS)."""
        code = code or self.code
        out = {"error_code": code, "error_msg": self.message, **self.extra}
        if code.startswith(("APIG.", "APIGW.")):
            out["request_id"] = request_id
        return out


def bad_request(message: str) -> ApiError:
    """400 ``WKS.0001`` with a message naming the field and the limit."""
    return ApiError(400, BAD_REQUEST, message)
