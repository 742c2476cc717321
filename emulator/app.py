"""The HTTP application: each real host is a path prefix, plus the control API."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount

from emulator import control, google, microsoft
from emulator.faults import Reply
from emulator.state import Store


async def _reply(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Reply)
    return exc.response


def create_app(store: Store | None = None) -> Starlette:
    app = Starlette(routes=[Mount("/google", routes=google.routes),
                            Mount("/microsoft", routes=microsoft.routes),
                            Mount("/_emulator", routes=control.routes)],
                    exception_handlers={Reply: _reply})
    app.state.store = store or Store()
    return app
