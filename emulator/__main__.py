"""`python -m emulator --port N [--smtp-port M] [--host H]`.

The first stdout line is `{"http": N, "smtp": M}` with the bound ports (useful with 0 = any
free port); nothing else is written to stdout, so a parent may stop reading after it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys

import uvicorn

from emulator import smtp
from emulator.app import create_app
from emulator.state import Store


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m emulator", description="Talentgraph provider emulator")
    root.add_argument("--host", default="127.0.0.1")
    root.add_argument("--port", type=int, default=8025, help="HTTP port (0 = any free port)")
    root.add_argument("--smtp-port", type=int, default=2525, help="SMTP port (0 = any free port)")
    root.add_argument("--log-level", default="warning")
    return root


async def serve(args: argparse.Namespace) -> None:
    store = Store()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)  # connections queue from now on, before uvicorn starts accepting
    smtp_server = await smtp.start(store, args.host, args.smtp_port)
    ports = {"http": sock.getsockname()[1], "smtp": smtp_server.sockets[0].getsockname()[1]}
    sys.stdout.write(json.dumps(ports) + "\n")
    sys.stdout.flush()
    config = uvicorn.Config(create_app(store), log_level=args.log_level, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=1)
    try:
        await uvicorn.Server(config).serve(sockets=[sock])
    finally:
        smtp_server.close()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parser().parse_args(argv)))


if __name__ == "__main__":
    main()
