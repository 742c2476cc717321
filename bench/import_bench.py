"""CSV import benchmark: a generated file of --rows rows through the real import job,
in-process, against SQLite and a fresh PostgreSQL database.

    python bench/import_bench.py                       # 100,000 rows, SQLite then PostgreSQL
    python bench/import_bench.py --database sqlite --rows 20000
    python bench/import_bench.py --reimport            # also time importing the file again

Each database runs in a child process of its own (so peak memory is that run's): a throw-away
data folder (and database: `tg_bench_import_<pid>_<time>` on --pg-url, trust auth, migrated
as the owner, run as the application role so that row-level security is on, dropped at the
end), a tenant with an admin, the file streamed through `store_upload`, `start_import`, then
`run_import` timed on its own. Rows/s counts every row of the file; memory is the growth of
the process's peak RSS during the run (the peak is reset before it on Linux). The events the
run publishes (one per batch) are dispatched afterwards and timed apart.

Targets: >= 2,000 rows/s and < 100 MB peak growth. Exit status 0 when every run meets them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"
TARGET_ROWS_PER_SECOND = 2000.0
TARGET_PEAK_MB = 100.0

FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances", "Dennis",
         "Radia", "Edsger", "Hedy", "John", "Katherine", "Tim", "Sophie", "Guido", "Anita"]
LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Allen",
        "Ritchie", "Perlman", "Dijkstra", "Lamarr", "McCarthy", "Johnson", "Berners-Lee"]
COMPANIES = ["Analytical", "Navy", "Kernel Co", "Apollo", "Bletchley", "CLU Labs", "Bell",
             "IBM", "Sun", "DEC", "Xerox PARC", "NASA", "CERN", "Acme"]
TITLES = ["Engineer", "Senior Engineer", "Staff Engineer", "Engineering Manager", "CTO",
          "Data Scientist", "Designer", "Product Manager"]
CITIES = ["London", "Berlin", "Paris", "New York", "Helsinki", "Lisbon", "Toronto", "Remote"]
TAGS = ["python", "go", "rust", "frontend", "backend", "ml", "sre", "lead"]


def say(message: str = "") -> None:
    print(message, flush=True)


def _roll(i: int, seed: int) -> float:
    return random.Random(seed * 1_000_003 + i).random()


def _new_person(i: int, seed: int) -> bool:
    return _roll(i, seed) >= 0.015  # neither a repeat nor a bad email (see generate)


def generate(path: Path, rows: int, seed: int = 7) -> dict[str, int]:
    """A realistic file: 1% of rows repeat the email of an earlier new person (merged),
    0.5% have a bad email (error), the rest are new people with email, LinkedIn URL,
    company, title, city and two tags. Returns the outcomes to expect."""
    rng = random.Random(seed)
    expect = {"created": 0, "merged": 0, "error": 0}
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("First name,Last name,Email,LinkedIn,Company,Title,City,Tags\n")
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            roll = _roll(i, seed)
            if roll < 0.01 and i > 10:
                earlier = rng.randrange(i)
                while not _new_person(earlier, seed):  # repeat a row that was created
                    earlier = rng.randrange(i)
                email = f"person{earlier}@example.com"
                expect["merged"] += 1
            elif roll < 0.015:
                email = f"broken{i}@"
                expect["error"] += 1
            else:
                email = f"person{i}@example.com"
                expect["created"] += 1
            tags = ";".join(rng.sample(TAGS, 2))
            out.write(f"{first},{last},{email},https://www.linkedin.com/in/{first.lower()}-{i}/,"
                      f"{rng.choice(COMPANIES)},{rng.choice(TITLES)},{rng.choice(CITIES)},"
                      f"\"{tags}\"\n")
    return expect


def _rss_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_kb() -> int:
    return _rss_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---------------------------------------------------------------------------------------------
# the child: one database, one process


async def _child(database: str, csv_path: Path, pg_url: str, reimport: bool,
                 batch_size: int) -> dict[str, Any]:
    import asyncpg

    from domain import subscriptions
    from domain.core import config, db, jobs, migrations
    from domain.core.scope import Scope
    from domain.prospects import imports
    from domain.prospects.imports import ColumnMapping, ImportOptions
    from domain.tenancy import service as tenancy
    from domain.tenancy.rules import ROLE_PERMISSIONS
    from workers.queue import InProcessQueue

    data_dir = Path(tempfile.mkdtemp(prefix="tg-import-bench-"))
    pg_name = None
    if database == "postgres":
        pg_name = f"tg_bench_import_{os.getpid()}_{int(time.time())}"
        admin = await asyncpg.connect(pg_url.rstrip("/") + "/postgres")
        await admin.execute(f'CREATE DATABASE "{pg_name}"')
        await admin.close()
        url = pg_url.rstrip("/") + f"/{pg_name}"
    else:
        url = f"sqlite://{data_dir / 'bench.sqlite3'}"
    settings = config.load_settings({
        "TALENTGRAPH_DATA_DIR": str(data_dir), "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key-" + "x" * 32,
        "ENCRYPTION_KEYS": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="})
    config.configure(settings)
    subscriptions.register()
    await migrations.upgrade(settings)
    await db.open_db(settings)
    queue = InProcessQueue()
    jobs.install(_BenchQueue(queue))
    try:
        tenant = await tenancy.create_tenant(slug="bench", name="Bench")
        member = await tenancy.ensure_member(tenant=tenant, email="ada@bench.example",
                                             name="Ada", role="admin")
        scope = Scope(tenant_id=tenant.id, permissions=ROLE_PERMISSIONS["admin"],
                      user_id=member.user_id, role="admin")
        mapping = [ColumnMapping("First name", "firstName"),
                   ColumnMapping("Last name", "lastName"), ColumnMapping("Email", "email"),
                   ColumnMapping("LinkedIn", "profileUrl"), ColumnMapping("Company", "company"),
                   ColumnMapping("Title", "title"), ColumnMapping("City", "location"),
                   ColumnMapping("Tags", "tags")]
        runs = []
        for label in ["import"] + (["re-import (every row merges)"] if reimport else []):
            runs.append(await _one_run(label, scope, csv_path, mapping, batch_size, queue,
                                       imports, ImportOptions))
        return {"database": database, "runs": runs}
    finally:
        await queue.close()
        await db.close_db()
        shutil.rmtree(data_dir, ignore_errors=True)
        if pg_name:
            admin = await asyncpg.connect(pg_url.rstrip("/") + "/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await admin.close()


async def _one_run(label: str, scope: Any, csv_path: Path, mapping: Any, batch_size: int,
                   queue: Any, imports: Any, options: Any) -> dict[str, Any]:
    async def chunks() -> Any:
        with csv_path.open("rb") as file:
            while chunk := file.read(64 * 1024):
                yield chunk

    started = time.perf_counter()
    upload = await imports.store_upload(scope, chunks())
    upload_seconds = time.perf_counter() - started
    imp = await imports.start_import(scope, upload_id=upload.id, mapping=mapping,
                                     options=options())
    rss_before = _rss_kb("VmRSS") or 0
    reset = _reset_peak()
    peak_before = _peak_kb() if reset else rss_before
    started = time.perf_counter()
    status = await imports.run_import(tenant_id=str(imp.tenant_id), import_id=str(imp.id),
                                      batch_size=batch_size)
    seconds = time.perf_counter() - started
    peak_after = _peak_kb()
    started = time.perf_counter()
    await queue.drain()  # the dispatch of the events the run published (one per batch)
    dispatch_seconds = time.perf_counter() - started
    done = (await imports.imports_by_ids(scope, [imp.id]))[imp.id]
    return {"label": label, "status": status, "rows": done.processed_rows,
            "seconds": seconds, "rows_per_second": done.processed_rows / seconds,
            "rss_before_mb": rss_before / 1024,
            "peak_growth_mb": max(0, peak_after - max(peak_before, rss_before)) / 1024,
            "upload_seconds": upload_seconds, "dispatch_seconds": dispatch_seconds,
            "outcomes": {"created": done.created_count, "merged": done.merged_count,
                         "skipped": done.skipped_count, "error": done.error_count}}


class _BenchQueue:
    """The in-process queue, except that the import job is the benchmark's to run (timed)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        if name != "run_prospect_import":
            await self.inner.enqueue(name, *args, job_id=job_id, defer_seconds=defer_seconds)


def child_main(args: argparse.Namespace) -> None:
    result = asyncio.run(_child(args.database, Path(args.csv), args.pg_url, args.reimport,
                                args.batch_size))
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------
# the parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--reimport", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return 0
    work = Path(tempfile.mkdtemp(prefix="tg-import-bench-csv-"))
    csv_path = work / "prospects.csv"
    expect = generate(csv_path, args.rows)
    size_mb = csv_path.stat().st_size / 1e6
    say(f"generated {args.rows} rows ({size_mb:.1f} MB): expect {expect}")
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    ok = True
    for database in databases:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--database", database,
               "--csv", str(csv_path), "--pg-url", args.pg_url,
               "--batch-size", str(args.batch_size)] + (["--reimport"] if args.reimport else [])
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
        if done.returncode != 0 or line is None:
            say(f"{database}: the run failed ({done.returncode})\n{done.stdout}\n{done.stderr}")
            ok = False
            continue
        result = json.loads(line[len("RESULT "):])
        for run in result["runs"]:
            passed = (run["rows_per_second"] >= TARGET_ROWS_PER_SECOND
                      and run["peak_growth_mb"] < TARGET_PEAK_MB
                      and run["status"] == "completed")
            ok = ok and passed
            say(f"{database:8} {run['label']:30} {run['rows']:>7} rows in "
                f"{run['seconds']:6.1f} s = {run['rows_per_second']:7.0f} rows/s, peak RSS "
                f"+{run['peak_growth_mb']:.1f} MB (from {run['rss_before_mb']:.0f} MB) "
                f"-> {'PASS' if passed else 'FAIL'}")
            if run["label"] == "import" and run["outcomes"] != {**expect, "skipped": 0}:
                say(f"{database}: outcomes {run['outcomes']} differ from {expect}")
                ok = False
            say(f"{'':8} outcomes {run['outcomes']}, status {run['status']}; upload "
                f"{run['upload_seconds']:.2f} s; events dispatched after in "
                f"{run['dispatch_seconds']:.1f} s")
    csv_path.unlink()
    work.rmdir()
    say(f"targets: >= {TARGET_ROWS_PER_SECOND:.0f} rows/s, < {TARGET_PEAK_MB:.0f} MB peak growth "
        f"-> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
