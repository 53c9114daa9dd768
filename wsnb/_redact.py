"""Scrub secrets out of exception text before it can reach a message, log, ledger or report.

The HTTP stack (h11 through httpcore and httpx) quotes a whole header when it refuses one, e.g.
``Illegal header value b'SDK-HMAC-SHA256 Access=…, Signature=…'``; a gateway may echo the AK in
its error message. :func:`redact` replaces every known secret (AK, SK, security token, IAM token,
the signature and the whole ``Authorization`` value), in plain and ``repr``-escaped form, and any
``b'…'`` bytes literal (which is how those libraries quote a header) with ``<redacted>``.
:func:`chain_leaks` tells whether an exception or anything in its ``__cause__``/``__context__``
chain would print a secret in a traceback, so the caller can cut the chain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import httpx

__all__ = ["REDACTED", "chain_leaks", "redact", "secrets_of"]

REDACTED = "<redacted>"
#: Headers whose values are secret (the signature lives in ``Authorization``).
SECRET_HEADERS = ("authorization", "x-auth-token", "x-security-token")
#: Shorter strings are not treated as secrets (they would mangle ordinary words).
MIN_SECRET = 6

_BYTES_LITERAL = re.compile(r"""(?<![\w'"])b(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""", re.DOTALL)
_AUTH_PARTS = re.compile(r"(?:Access|Signature)=([^,\s]+)")


def secrets_of(request: httpx.Request | None, known: Iterable[str | None] = ()) -> list[str]:
    """The secrets to scrub: ``known`` values plus the secret headers of ``request``.

    The ``Access`` and ``Signature`` parts of an ``Authorization`` value are listed too, so a
    text that quotes only one of them is still scrubbed.
    """
    found = [value for value in known if value]
    if request is not None:
        for name in SECRET_HEADERS:
            value = request.headers.get(name)
            if value:
                found.append(value)
                if name == "authorization":
                    found += _AUTH_PARTS.findall(value)
    return found


def _forms(secret: str) -> list[str]:
    """The secret as text and as ``repr`` would quote it (escapes for CR, LF, quotes...)."""
    quoted = repr(secret)[1:-1]
    raw = repr(secret.encode("utf-8", "backslashreplace"))[2:-1]
    return list(dict.fromkeys(s for s in (secret, secret.strip(), quoted, raw) if s))


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret and every ``b'…'`` literal replaced by ``<redacted>``."""
    out = _BYTES_LITERAL.sub(f"b'{REDACTED}'", text)
    forms = sorted(
        {form for secret in secrets for form in _forms(secret) if len(form) >= MIN_SECRET},
        key=len,
        reverse=True,
    )
    for form in forms:
        out = out.replace(form, REDACTED)
    return out


def chain_leaks(exc: BaseException, secrets: Sequence[str]) -> bool:
    """Whether ``exc`` or any exception chained to it prints differently once redacted."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        text = f"{current!s} {current!r}"
        if redact(text, secrets) != text:
            return True
        todo += [current.__cause__, current.__context__]
    return False
