"""SDK-HMAC-SHA256 request signing (Huawei Cloud APIG signature v1), client and server side.

Pure functions, byte-compatible with ``huaweicloudsdkcore.signer.signer.Signer`` (reference §10.2).
The client signs with :func:`sign`; the emulator checks requests with :func:`verify`, which
rebuilds the canonical request from what it *received*, so both ends share one implementation.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

__all__ = [
    "ALGORITHM",
    "DATE_FORMAT",
    "EMPTY_BODY_SHA256",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "encode_query",
    "format_sdk_date",
    "parse_authorization",
    "sign",
    "signature",
    "signed_header_names",
    "string_to_sign",
    "verify",
]

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_CONTENT_SHA256 = "x-sdk-content-sha256"

QueryValue = str | bool | int | float
"""A query value as the caller holds it; booleans canonicalise to ``true``/``false``."""


def _encode(value: str) -> str:
    """RFC 3986 percent-encoding: only ``A-Z a-z 0-9 - _ . ~`` stay literal (uppercase hex)."""
    return quote(value, safe="~")


def _query_text(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def canonical_uri(path: str) -> str:
    """Percent-decode ``path``, re-encode each ``/`` segment, and ensure a trailing slash."""
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query: Sequence[tuple[str, QueryValue]]) -> str:
    """Sorted, encoded ``k=v`` pairs joined by ``&``; repeated keys stay repeated.

    Values are turned into text *before* sorting, so a server that only sees the decoded
    strings on the wire reproduces the same order.
    """
    pairs = sorted((key, _query_text(value)) for key, value in query)
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in pairs)


def encode_query(query: Sequence[tuple[str, QueryValue]]) -> str:
    """``k=v`` pairs in the given order, RFC 3986-encoded like :func:`canonical_query`.

    For the wire: unlike form encoding it writes a space as ``%20``, never ``+``.
    """
    return "&".join(f"{_encode(key)}={_encode(_query_text(value))}" for key, value in query)


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """The SDK's rule: every header name without ``_``, lowercased, sorted by byte value."""
    return sorted({name.lower() for name in headers if "_" not in name})


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): str(value).strip() for name, value in headers.items()}


def canonical_request(
    method: str,
    path: str,
    query: Sequence[tuple[str, QueryValue]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    body: bytes,
) -> str:
    """Build the six-line canonical request (§10.2 step 6).

    ``path`` is the wire path (percent-encoded), ``query`` the decoded pairs, ``headers`` any
    mapping holding at least the ``signed_headers`` (matched case-insensitively, values trimmed).
    As in the SDK, a non-empty body's hash may be replaced by a *signed* ``X-Sdk-Content-Sha256``.
    Raises ``ValueError`` naming a signed header that is absent.
    """
    lowered = _lower_headers(headers)
    lines = []
    for name in signed_headers:
        if name not in lowered:
            raise ValueError(f"signed header {name!r} is not present")
        lines.append(f"{name}:{lowered[name]}\n")
    if not body:
        payload_hash = EMPTY_BODY_SHA256
    elif _CONTENT_SHA256 in signed_headers and lowered[_CONTENT_SHA256]:
        payload_hash = lowered[_CONTENT_SHA256]
    else:
        payload_hash = hashlib.sha256(body).hexdigest()
    return "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            "".join(lines),
            ";".join(signed_headers),
            payload_hash,
        )
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """``ALGORITHM``, the ``X-Sdk-Date`` value and the hex SHA-256 of the canonical request."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(sk: str, to_sign: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``to_sign`` keyed with the secret key."""
    return hmac.new(sk.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def format_sdk_date(moment: datetime) -> str:
    """``X-Sdk-Date`` text (``YYYYMMDDTHHMMSSZ``, UTC) for an aware or UTC-naive datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(DATE_FORMAT)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def sign(
    method: str,
    url_path: str,
    query: Sequence[tuple[str, QueryValue]],
    headers: Mapping[str, str],
    body: bytes,
    ak: str,
    sk: str,
) -> str:
    """Return the ``Authorization`` value signing every header in ``headers`` (SDK rule).

    ``headers`` must already hold ``X-Sdk-Date`` and ``Host``; pass only the headers to sign.
    """
    if not ak or not sk:
        raise ValueError("both an access key (ak) and a secret key (sk) are required to sign")
    sdk_date = _header(headers, "x-sdk-date")
    if sdk_date is None:
        raise ValueError("the X-Sdk-Date header must be set before signing")
    if _header(headers, "host") is None:
        raise ValueError("the Host header must be set before signing")
    names = signed_header_names(headers)
    canonical = canonical_request(method, url_path, query, headers, names, body)
    sig = signature(sk, string_to_sign(canonical, sdk_date.strip()))
    return f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(names)}, Signature={sig}"


def parse_authorization(value: str) -> tuple[str, list[str], str]:
    """Split an ``Authorization`` value into (access key, signed header names, signature).

    Raises ``ValueError`` (without echoing the value) when it is not ``SDK-HMAC-SHA256``.
    """
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise ValueError(f"unsupported signing algorithm (expected {ALGORITHM})")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep or key in fields:
            raise ValueError("malformed Authorization header")
        fields[key] = val.strip()
    if set(fields) != {"Access", "SignedHeaders", "Signature"}:
        raise ValueError("Authorization needs exactly Access, SignedHeaders and Signature")
    names = fields["SignedHeaders"].split(";")
    if not fields["Access"] or not fields["Signature"] or not all(names):
        raise ValueError("malformed Authorization header")
    return fields["Access"], names, fields["Signature"]


def verify(
    method: str,
    path: str,
    query: Sequence[tuple[str, QueryValue]],
    headers: Mapping[str, str],
    body: bytes,
    *,
    lookup_sk: Callable[[str], str | None],
    now: datetime,
    max_skew: timedelta = timedelta(minutes=15),
) -> str | None:
    """Check a received request's signature; ``None`` when valid, else a short reason.

    Rebuilds the canonical request from the received method, wire path, decoded query, the
    received values of the listed signed headers and the raw body, requires ``host`` and
    ``x-sdk-date`` to be signed, enforces the ``X-Sdk-Date`` skew and compares in constant time.
    Reasons never contain the secret key, the access key or the expected signature.
    """
    lowered = _lower_headers(headers)
    auth = lowered.get("authorization")
    if not auth:
        return "missing Authorization header"
    try:
        ak, names, sig = parse_authorization(auth)
    except ValueError as exc:
        return str(exc)
    for required in ("host", "x-sdk-date"):
        if required not in names:
            return f"{required} is not a signed header"
    missing = [name for name in names if name not in lowered]
    if missing:
        return f"signed header {missing[0]!r} is missing"
    try:
        stamp = datetime.strptime(lowered["x-sdk-date"], DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return "malformed X-Sdk-Date (expected YYYYMMDDTHHMMSSZ)"
    current = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    if abs(current - stamp) > max_skew:
        return f"X-Sdk-Date is more than {int(max_skew.total_seconds() // 60)} minutes from now"
    sk = lookup_sk(ak)
    if not sk:
        return "unknown access key"
    canonical = canonical_request(method, path, query, lowered, names, body)
    expected = signature(sk, string_to_sign(canonical, lowered["x-sdk-date"]))
    if not hmac.compare_digest(expected.encode("ascii"), sig.lower().encode("ascii", "replace")):
        return "signature mismatch"
    return None
