"""Summarise py-spy collapsed stacks (`py-spy record --format raw`) of the GraphQL server.

    python bench/profile_summary.py out/graphql-sqlite.collapsed [--top 25]

Prints
  * inclusive share of the samples for the stages of the request path (a sample counts for a
    stage when the stage's frame is anywhere on its stack), and
  * exclusive buckets: each sample goes to the innermost frame that matches a bucket, so the
    buckets add up to 100%, and
  * the functions with the most self time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# (label, regex on one frame "function (file:line)"); inclusive: anywhere on the stack.
STAGES: list[tuple[str, str]] = [
    ("uvicorn httptools protocol (parse, ASGI glue)", r"uvicorn/protocols/http/httptools_impl"),
    ("  socket writes (RequestResponseCycle.send)", r"RequestResponseCycle\.send \("),
    ("starlette app + router + middleware", r"^Starlette\.__call__ \("),
    ("GraphQLEndpoint (whole handler)", r"GraphQLEndpoint\.(asgi|endpoint) \("),
    ("  _read_params (body read + orjson.loads)", r"^_read_params \("),
    ("  _authenticate (token + session check)", r"^_authenticate \("),
    ("    read_access_token (JWT verify, joserfc)", r"^read_access_token \("),
    ("    _lookup (session/membership, DB on miss)", r"^_lookup \(.*sessions"),
    ("  Context(...)", r"^Context\.__init__ \(|api/context\.py"),
    ("  flat path (a whole query without graphql-core)", r"^run_operation \("),
    ("  graphql-core execute", r"^(experimental_)?execute(_incrementally)? \(.*graphql/execution/"),
    ("    field resolvers + field extensions", r"schema_converter\.py"),
    ("    PermissionExtension", r"strawberry/permission\.py"),
    ("  orjson.dumps", r"orjson|dumps"),
    ("logging (log.info, handlers)", r"logging/__init__\.py"),
    ("uuid4 (request id)", r"^uuid4 \("),
    ("tortoise / DB driver", r"tortoise/|aiosqlite/|asyncpg/"),
]

# Exclusive buckets: innermost matching frame wins.
BUCKETS: list[tuple[str, str]] = [
    ("logging", r"logging/__init__\.py|api/logs\.py"),
    ("JWT verify (joserfc/cryptography)", r"joserfc/|cryptography/|authlib/"),
    ("DB (tortoise, aiosqlite, asyncpg)", r"tortoise/|pypika|aiosqlite/|asyncpg/"),
    ("sessions/auth (domain)", r"domain/tenancy/sessions\.py|domain/core/security\.py"),
    ("graphql-core validation", r"graphql/validation/"),
    ("graphql-core parse/lexer", r"graphql/language/"),
    ("graphql-core execution", r"graphql/execution/|graphql/pyutils/|graphql/type/"),
    ("strawberry extensions", r"strawberry/extensions/|strawberry/permission\.py"),
    ("strawberry schema/execute", r"strawberry/"),
    ("api/ resolvers and types", r"api/tenancy/|api/relay\.py|api/context\.py|api/permissions"
                                 r"|api/flat_executor\.py|api/schema\.py"),
    ("api/graphql_http.py handler", r"api/graphql_http\.py|api/errors\.py"),
    ("starlette", r"starlette/"),
    ("uvicorn", r"uvicorn/"),
    ("asyncio / contextvars / stdlib",
     r"asyncio/|contextlib\.py|uuid\.py|json/|enum\.py|typing\.py|dataclasses\.py"),
]

# Leaf frames where a thread only waits, which py-spy sometimes samples as active: the aiosqlite
# worker thread blocked on its queue. Left out of every share.
WAITS = re.compile(r"^_connection_worker_thread \(aiosqlite/core\.py:59\)$")

LINE = re.compile(r"^(.*) (\d+)$")
SHORT = re.compile(r".*/(site-packages|lib/python3\.\d+|main)/")


def _parse(text: str, waits: list[int] | None = None) -> list[tuple[list[str], int]]:
    stacks = []
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if match:
            frames = match.group(1).split(";")
            if WAITS.search(_short(frames[-1])):
                if waits is not None:
                    waits.append(int(match.group(2)))
                continue
            stacks.append((frames, int(match.group(2))))
    return stacks


def _short(frame: str) -> str:
    return SHORT.sub("", frame)


def summarise(text: str, top: int = 25) -> str:
    waits: list[int] = []
    stacks = _parse(text, waits)
    total = sum(n for _, n in stacks)
    if not total:
        return "no samples"
    lines = [f"\n{total} samples of active threads ({sum(waits)} more in known waits left out)",
             "", "Inclusive share by stage:"]
    for label, pattern in STAGES:
        regex = re.compile(pattern)
        n = sum(count for frames, count in stacks if any(regex.search(f) for f in frames))
        lines.append(f"  {100 * n / total:5.1f}%  {label}")
    buckets: Counter[str] = Counter()
    compiled = [(label, re.compile(p)) for label, p in BUCKETS]
    for frames, count in stacks:
        for frame in reversed(frames):
            bucket = next((lb for lb, rx in compiled if rx.search(frame)), None)
            if bucket:
                buckets[bucket] += count
                break
        else:
            buckets["other (C code, interpreter, unattributed)"] += count
    lines += ["", "Exclusive buckets (innermost matching frame):"]
    for label, n in buckets.most_common():
        lines.append(f"  {100 * n / total:5.1f}%  {label}")
    selfs: Counter[str] = Counter()
    for frames, count in stacks:
        selfs[_short(frames[-1])] += count
    lines += ["", f"Top {top} functions by self time:"]
    for frame, n in selfs.most_common(top):
        lines.append(f"  {100 * n / total:5.1f}%  {frame}")
    return "\n".join(lines)


def tree(text: str, root: str, depth: int = 4, min_share: float = 0.5) -> str:
    """Inclusive shares of the callees below the first frame matching `root` (a regex)."""
    stacks = _parse(text)
    total = sum(n for _, n in stacks)
    rx = re.compile(root)
    counts: Counter[tuple[str, ...]] = Counter()
    for frames, count in stacks:
        start = next((i for i, f in enumerate(frames) if rx.search(f)), None)
        if start is None:
            continue
        path = tuple(re.sub(r":\d+\)$", ")", _short(f))
                     for f in frames[start:start + depth + 1])
        for i in range(1, len(path) + 1):
            counts[path[:i]] += count
    lines = []

    def walk(prefix: tuple[str, ...]) -> None:
        children = sorted((p for p in counts if len(p) == len(prefix) + 1 and p[:-1] == prefix),
                          key=lambda p: -counts[p])
        for child in children:
            share = 100 * counts[child] / total
            if share >= min_share:
                lines.append(f"  {share:5.1f}%  {'  ' * (len(child) - 1)}{child[-1]}")
                walk(child)

    walk(())
    return "\n".join(lines) or f"no frame matches {root!r}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collapsed", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--tree", metavar="REGEX",
                        help="instead: callee tree below the first frame matching REGEX")
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--min", type=float, default=0.5, help="hide tree nodes under MIN %%")
    args = parser.parse_args()
    text = args.collapsed.read_text()
    if args.tree:
        print(tree(text, args.tree, args.depth, args.min))
    else:
        print(summarise(text, args.top))


if __name__ == "__main__":
    main()
