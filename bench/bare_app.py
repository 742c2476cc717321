"""The baseline for bench/http_bench.py: a bare Starlette app that answers POST /graphql with
fixed bytes (the exact body the real endpoint returned for the benchmarked query).

It is served with the same uvicorn settings as `talentgraph serve` (uvloop, httptools, access
log off, default log config off, one worker), so the difference between the two runs is the
GraphQL request path itself: reading and parsing the body, authentication, strawberry
execution, serialising, logging.

    python bench/bare_app.py --port 8001 --body-file /tmp/body.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_app(body: bytes) -> Starlette:
    async def graphql(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[
        Route("/graphql", graphql, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--body-file", required=True, type=Path,
                        help="the response body to serve, as application/json")
    args = parser.parse_args()
    app = create_app(args.body_file.read_bytes())
    # The same settings as api/cli.py cmd_serve.
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
