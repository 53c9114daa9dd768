"""``SyncASGITransport``: drive the emulator app in-process from a *sync* ``httpx.Client``.

httpx only ships an async ASGI transport; this one runs it in an anyio blocking portal (its own
thread and loop), so it also works where the caller's thread already runs a loop (Jupyter).
"""

from __future__ import annotations

import anyio.from_thread
import httpx
from starlette.types import ASGIApp


class SyncASGITransport(httpx.BaseTransport):
    """An ``httpx.BaseTransport`` that calls an ASGI app without a socket."""

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        inner_request = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._inner.handle_async_request(inner_request)
            content = await response.aread()
            return response.status_code, response.headers.raw, content

        status, headers, content = self._portal.call(send)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        self._portal_cm.__exit__(None, None, None)
