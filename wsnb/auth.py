"""Credentials (AK/SK or IAM token) and the httpx auth hook that signs every request.

``Credentials.from_env`` follows the official SDK's conventions (``HUAWEICLOUD_SDK_*`` variables
and the ``~/.huaweicloud/credentials`` INI file). ``WorkspaceAuth`` signs each attempt anew with
SDK-HMAC-SHA256 (see :mod:`wsnb._signer`) or sets ``X-Auth-Token``.

Every credential value (and the project id) is checked when ``Credentials`` is built: surrounding
whitespace (a pasted ``\r\n``, spaces, tabs) is stripped, and a value that still holds anything but
printable ASCII without spaces (a control character such as CR, LF, tab or NUL inside it, or a
non-ASCII character) is refused with a :class:`CredentialsError` that names the field or variable
and never shows the value. Such a value would otherwise be an illegal HTTP header value, and the
HTTP stack would quote the whole header (AK and signature, or the token) in its exception text.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal
from urllib.parse import parse_qsl

import httpx

from wsnb import _signer

__all__ = [
    "CREDENTIAL_ENV_VARS",
    "Credentials",
    "CredentialsError",
    "WorkspaceAuth",
    "clean_value",
    "credentials_configured",
]

ENV_AK = "HUAWEICLOUD_SDK_AK"
ENV_SK = "HUAWEICLOUD_SDK_SK"
ENV_SECURITY_TOKEN = "HUAWEICLOUD_SDK_SECURITY_TOKEN"  # noqa: S105 (a variable name)
ENV_PROJECT_ID = "HUAWEICLOUD_SDK_PROJECT_ID"
ENV_CREDENTIALS_FILE = "HUAWEICLOUD_SDK_CREDENTIALS_FILE"
ENV_TOKEN = "WSNB_AUTH_TOKEN"  # noqa: S105 (a variable name)
#: The environment variables that carry (or point to) credentials, for code that must clear or
#: detect every credential source (the project id is not one: it names, it does not grant).
CREDENTIAL_ENV_VARS: Final = (ENV_AK, ENV_SK, ENV_SECURITY_TOKEN, ENV_CREDENTIALS_FILE, ENV_TOKEN)
FILE_SECTION = "basic"

# Headers WorkspaceAuth signs when present. Deliberately not user-agent, accept, accept-encoding,
# connection or content-length: httpx, proxies and gateways may add or rewrite those, and a
# signature over them would then fail for reasons unrelated to the caller.
SIGNED_HEADERS = ("content-type", "host", "x-project-id", "x-sdk-date", "x-security-token")


class CredentialsError(ValueError):
    """Credentials are missing, incomplete, contradictory or malformed (the message names the
    source, never the value)."""


def _describe(char: str) -> str:
    if char in "\r\n":
        return "a line break (CR or LF)"
    if char == "\t":
        return "a tab"
    if char == "\x00":
        return "a NUL character"
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return "a control character"
    if char.isspace():
        return "whitespace"
    return "a non-ASCII character"


def clean_value(value: object, label: str) -> str | None:
    """``value`` with surrounding whitespace stripped, ``None`` when blank.

    Raises :class:`CredentialsError` naming ``label`` (a field or variable name), never the
    value, when the value is not a str or still holds a character outside printable ASCII
    (``!`` to ``~``): such a character is illegal in an HTTP header or a sure sign of a bad
    copy-paste.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise CredentialsError(f"{label} must be a str, got {type(value).__name__}")
    text = value.strip()
    for index, char in enumerate(text):
        if not "!" <= char <= "~":
            raise CredentialsError(
                f"{label} contains {_describe(char)} at position {index + 1} of {len(text)}; "
                "credentials are printable ASCII without spaces: copy the value again "
                "(the value is not shown)"
            )
    return text or None


@dataclass(frozen=True, repr=False)
class Credentials:
    """AK/SK (optionally temporary, with a security token) or an IAM token, plus a project id.

    ``repr``/``str`` show only the kind, the project id and ``<set>`` markers. Values are
    stripped of surrounding whitespace and checked (see :func:`clean_value`); ``source`` says
    where they came from (set by :meth:`from_env`; ``None`` when passed in code).
    """

    ak: str | None = None
    sk: str | None = None
    security_token: str | None = None
    token: str | None = None
    project_id: str | None = None
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("ak", "sk", "security_token", "token", "project_id"):
            object.__setattr__(self, name, clean_value(getattr(self, name), name))
        if self.token and (self.ak or self.sk):
            raise CredentialsError("give either ak/sk or an IAM token, not both")
        if not self.token:
            if not self.ak and not self.sk:
                raise CredentialsError("credentials need ak and sk, or an IAM token")
            if not self.ak or not self.sk:
                missing = "ak" if not self.ak else "sk"
                raise CredentialsError(f"credentials: {missing} is missing (ak and sk go together)")
        if self.security_token and self.token:
            raise CredentialsError("security_token belongs to temporary ak/sk, not to an IAM token")

    @property
    def kind(self) -> Literal["aksk", "token"]:
        """``"aksk"`` for signed requests, ``"token"`` for ``X-Auth-Token``."""
        return "token" if self.token else "aksk"

    def __repr__(self) -> str:
        parts = [f"kind={self.kind!r}", f"project_id={self.project_id!r}"]
        if self.kind == "aksk":
            parts += ["ak=<set>", "sk=<set>"]
            if self.security_token:
                parts.append("security_token=<set>")
        else:
            parts.append("token=<set>")
        return f"Credentials({', '.join(parts)})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        credentials_file: str | os.PathLike[str] | None = None,
    ) -> Credentials:
        """Load credentials the way the official SDK does; the environment wins over the file.

        Order: ``HUAWEICLOUD_SDK_AK``/``_SK`` (+ ``_SECURITY_TOKEN``), then ``WSNB_AUTH_TOKEN``,
        then section ``[basic]`` (``ak``, ``sk``, ``security_token``, ``project_id``) of
        ``credentials_file``, ``$HUAWEICLOUD_SDK_CREDENTIALS_FILE`` or
        ``~/.huaweicloud/credentials``.
        ``HUAWEICLOUD_SDK_PROJECT_ID`` overrides the file's ``project_id``. An explicitly named
        file must exist; the default one is optional.
        """
        env = os.environ if environ is None else environ

        def var(name: str) -> str | None:
            return clean_value(env.get(name), name)

        profile = _read_profile(env, credentials_file)
        where = f"credentials file {profile.get('__file__')}: [{FILE_SECTION}]"

        def item(key: str) -> str | None:
            return clean_value(profile.get(key), f"{where} {key}")

        project_id = var(ENV_PROJECT_ID) or item("project_id")
        ak, sk = var(ENV_AK), var(ENV_SK)
        if ak or sk:
            if not (ak and sk):
                have, lack = (ENV_AK, ENV_SK) if ak else (ENV_SK, ENV_AK)
                raise CredentialsError(f"{have} is set but {lack} is not; set both")
            token = var(ENV_SECURITY_TOKEN)
            names = ", ".join([ENV_AK, ENV_SK] + ([ENV_SECURITY_TOKEN] if token else []))
            source = f"environment ({names})"
            return cls(ak=ak, sk=sk, security_token=token, project_id=project_id, source=source)
        iam_token = var(ENV_TOKEN)
        if iam_token:
            return cls(token=iam_token, project_id=project_id, source=f"environment ({ENV_TOKEN})")
        ak, sk = item("ak"), item("sk")
        if ak or sk:
            if not (ak and sk):
                lack = "sk" if ak else "ak"
                raise CredentialsError(f"{where} lacks {lack}")
            token = item("security_token")
            return cls(ak=ak, sk=sk, security_token=token, project_id=project_id, source=where)
        raise CredentialsError(
            f"no credentials found: set {ENV_AK} and {ENV_SK} (optionally "
            f"{ENV_SECURITY_TOKEN}, {ENV_PROJECT_ID}), or {ENV_TOKEN}, or put ak/sk in section "
            f"[{FILE_SECTION}] of {ENV_CREDENTIALS_FILE} (default ~/.huaweicloud/credentials)"
        )


def _read_profile(
    env: Mapping[str, str], explicit: str | os.PathLike[str] | None
) -> dict[str, str]:
    """The ``[basic]`` section of the credentials file as a dict (empty when there is none)."""
    named = explicit if explicit is not None else env.get(ENV_CREDENTIALS_FILE) or None
    if named is not None:
        path = Path(named).expanduser()
        if not path.is_file():
            raise CredentialsError(f"credentials file {path} does not exist")
    else:
        home = env.get("HOME")
        path = (Path(home) if home else Path.home()) / ".huaweicloud" / "credentials"
        if not path.is_file():
            return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        # configparser messages may quote lines of the file; keep only the error type.
        raise CredentialsError(
            f"credentials file {path} is not valid INI ({type(exc).__name__})"
        ) from None
    if not parser.has_section(FILE_SECTION):
        if named is not None:
            raise CredentialsError(f"credentials file {path} has no [{FILE_SECTION}] section")
        return {}
    section = {key: value.strip() for key, value in parser.items(FILE_SECTION)}
    return section | {"__file__": str(path)}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WorkspaceAuth(httpx.Auth):
    """httpx auth that signs each request attempt (AK/SK) or sets ``X-Auth-Token``.

    For AK/SK it sets a fresh ``X-Sdk-Date``, ``Host`` (``host:port`` when a port is given),
    ``X-Project-Id``, ``X-Security-Token`` and ``Content-Type: application/json`` (if absent),
    then signs :data:`SIGNED_HEADERS` that are present plus the path, query and body. The query
    string is re-encoded RFC 3986-style (``%20`` for a space, as the SDK sends it), order kept.
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: Credentials,
        *,
        project_id: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._credentials = credentials
        self.project_id = clean_value(project_id, "project_id") or credentials.project_id
        self._clock = clock or _utcnow

    def __repr__(self) -> str:
        return f"WorkspaceAuth({self._credentials!r}, project_id={self.project_id!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the auth headers to ``request`` and send it once."""
        creds = self._credentials
        if self.project_id:
            request.headers["X-Project-Id"] = self.project_id
        if creds.token:
            request.headers["X-Auth-Token"] = creds.token
            yield request
            return
        if not creds.ak or not creds.sk:  # unreachable: Credentials validates itself
            raise CredentialsError("credentials need ak and sk, or an IAM token")
        request.headers["X-Sdk-Date"] = _signer.format_sdk_date(self._clock())
        if "host" not in request.headers:
            request.headers["Host"] = request.url.netloc.decode("ascii")
        if creds.security_token:
            request.headers["X-Security-Token"] = creds.security_token
        request.headers.setdefault("Content-Type", "application/json")
        to_sign = {
            name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers
        }
        raw_path, _, raw_query = request.url.raw_path.decode("ascii").partition("?")
        query = parse_qsl(raw_query, keep_blank_values=True)
        if raw_query:
            # Re-encode the query RFC 3986-style as the SDK does (a space is %20, not httpx's
            # form-style "+"), so no server has to guess how "+" decodes. Order is kept.
            request.url = request.url.copy_with(query=_signer.encode_query(query).encode())
        request.headers["Authorization"] = _signer.sign(
            request.method, raw_path, query, to_sign, request.content, creds.ak, creds.sk
        )
        yield request


def credentials_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether any credential source is configured (env variables or the credentials file)."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in CREDENTIAL_ENV_VARS):
        return True
    home = env.get("HOME")
    default = (Path(home) if home else Path.home()) / ".huaweicloud" / "credentials"
    return default.is_file()
