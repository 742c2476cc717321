"""Rediscovery search benchmark: `prospects(filter: {text + two filters}, first: 50)` over HTTP
against 200,000 prospects of one tenant on PostgreSQL.

    python bench/search_bench.py [--prospects 200000] [--clients 1,2,4] [--duration 20]

Steps: make a throw-away database on --pg-url (trust auth), `talentgraph migrate up`,
`talentgraph demo` (the demo tenant and its members), `talentgraph create-tenant` for a second
tenant; then seed --prospects prospects into the demo tenant and --other-prospects into the
second one straight through asyncpg as the owner (COPY: prospects with emails, tags, varied
names, titles, companies, locations, sources, owners, notes in the search text, contact
history), VACUUM ANALYZE, start `talentgraph serve`, check the answers, then for each level of
--clients that many concurrent httpx clients POST /graphql for --warmup + --duration seconds
(one connection each, a request at a time), each request a
random search term plus two random filters (sources, tags, location, owners, created after,
contact status, last activity after), default ordering (relevance), selecting the fields a
result list shows (name, title, company, emails, tags, owner, lastActivityAt).

Prints, per level, p50/p90/p99/max latency, req/s, rows per answer, and PASS/FAIL against
--p50 (50 ms) and --p99 (150 ms). Exit status: 0 every level passes, 1 one is too slow, 2 wrong
answers or a setup failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

from http_bench import (  # noqa: E402
    DEFAULT_PG,
    DEMO_EMAIL,
    BenchError,
    Server,
    free_port,
    postgres_database,
    process_cpu_seconds,
    run,
    run_bench,
    say,
    start_server,
    stop_all,
    talentgraph_cmd,
)

from domain.prospects.rules import search_text  # noqa: E402

OTHER_SLUG = "bench-other"
QUERY = """query($filter: ProspectFilterInput, $first: Int) {
  prospects(filter: $filter, first: $first) {
    edges { node { id name title company emails { email } tags owner { id name }
                   lastActivityAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""

# --- realistic variety ---------------------------------------------------------------------

FIRST = """james mary robert patricia john jennifer michael linda david elizabeth william barbara
richard susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew
betty anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna joshua
michelle kenneth carol kevin amanda brian melissa george deborah timothy stephanie ronald rebecca
jason sharon edward laura jeffrey cynthia ryan kathleen jacob amy gary angela nicholas shirley
eric anna jonathan brenda stephen pamela larry emma justin nicole scott helen brandon samantha
benjamin katherine samuel christine gregory debra alexander rachel patrick carolyn frank janet
raymond catherine jack maria dennis heather jerry diane tyler ruth aaron julie jose olivia adam
joyce nathan virginia henry victoria zachary kelly douglas lauren peter christina kyle joan noah
evelyn ethan judith jeremy megan walter andrea christian cheryl keith hannah roger jacqueline
terry martha austin gloria sean teresa gerald ann carl sara harold madison dylan frances arthur
kathryn lawrence janice jordan jean jesse abigail bryan alice billy judy bruce sophia gabriel
grace joe denise logan amber alan doris juan marilyn wayne danielle elijah beverly randy isabella
roy theresa vincent diana ralph natalie eugene brittany russell charlotte bobby marie mason kayla
philip alexis louis lori wei fang mohammed fatima aarav priya hiroshi yuki olumide chiamaka
mateo sofia lukas lena oskar ingrid matteo giulia pierre camille santiago valentina ali leila
dmitri olga kwame ama tariq noor""".split()
LAST = """smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez
gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris
sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill
flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans
turner diaz parker cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez
ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks
chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers
long ross foster jimenez powell jenkins perry russell sullivan bell coleman butler henderson
barnes gonzales fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds
griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar stevens
murray ford castro marshall owens harrison fernandez mcdonald woods washington kennedy wells
vargas henry chen freeman webb tucker guzman burns crawford olson simpson porter hunter gordon
mendez silva shaw snyder mason dixon munoz hunt hicks holmes palmer wagner black robertson boyd
rose stone salazar fox warren mills meyer rice schmidt garza daniels ferguson nichols stephens
soto weaver ryan gardner payne grant dunn kelley spencer hawkins arnold pierce vazquez hansen
peters santos hart bradley knight elliott cunningham duncan armstrong hudson carroll lane riley
andrews alvarado ray delgado berry perkins hoffman johnston matthews pena richards contreras
willis carpenter lawrence sandoval wang zhang li liu yamamoto tanaka sato okafor adeyemi mensah
muller schneider fischer weber rossi russo bianchi dubois moreau leroy kowalski nowak ivanov
petrov novak horvat lindqvist johansson hansen nielsen singh kumar sharma gupta khan ahmed""".split()
SENIORITY = ["", "", "", "Senior", "Senior", "Staff", "Principal", "Lead", "Junior", "Head of"]
ROLES = ["Software Engineer", "Backend Engineer", "Frontend Engineer", "Data Scientist",
         "Data Engineer", "Product Manager", "Product Designer", "DevOps Engineer",
         "Site Reliability Engineer", "Machine Learning Engineer", "Engineering Manager",
         "QA Engineer", "Security Engineer", "Mobile Developer", "iOS Engineer",
         "Android Engineer", "Solutions Architect", "Technical Recruiter", "Sales Engineer",
         "Account Executive", "Marketing Manager", "UX Researcher", "Full-Stack Developer",
         "Embedded Engineer", "Platform Engineer", "Analytics Engineer", "Python Developer",
         "Java Developer", "Go Developer", "Rust Engineer", "Cloud Architect", "Data Analyst"]
COMPANY_HEAD = """acme globex initech umbrella hooli stark wayne wonka cyberdyne soylent tyrell
aperture vandelay dunder pied massive northwind contoso fabrikam adventure litware proseware
tailspin wingtip blue red green silver golden bright rapid clear true deep open smart swift
quantum vector nimbus zenith apex summit harbor river forest ocean stellar lunar solar polar
atlas orion nova vertex pixel byte cloud data logic signal""".split()
COMPANY_TAIL = ["Labs", "Systems", "Technologies", "AI", "Cloud", "Health", "Bank", "Group",
                "Software", "Analytics", "Robotics", "Media", "Games", "Energy", "Logistics",
                "Payments", "Security", "Networks", "Bio", "Capital"]
CITIES = ["London, UK", "Berlin, Germany", "Paris, France", "Amsterdam, Netherlands",
          "Madrid, Spain", "Barcelona, Spain", "Lisbon, Portugal", "Dublin, Ireland",
          "Stockholm, Sweden", "Copenhagen, Denmark", "Oslo, Norway", "Helsinki, Finland",
          "Warsaw, Poland", "Prague, Czechia", "Vienna, Austria", "Zurich, Switzerland",
          "Munich, Germany", "Milan, Italy", "Rome, Italy", "Athens, Greece",
          "New York, NY", "San Francisco, CA", "Seattle, WA", "Austin, TX", "Boston, MA",
          "Chicago, IL", "Denver, CO", "Los Angeles, CA", "Atlanta, GA", "Miami, FL",
          "Toronto, Canada", "Vancouver, Canada", "Montreal, Canada", "Mexico City, Mexico",
          "Sao Paulo, Brazil", "Buenos Aires, Argentina", "Bogota, Colombia",
          "Lagos, Nigeria", "Nairobi, Kenya", "Cape Town, South Africa", "Cairo, Egypt",
          "Dubai, UAE", "Tel Aviv, Israel", "Bangalore, India", "Mumbai, India",
          "Singapore", "Tokyo, Japan", "Seoul, South Korea", "Sydney, Australia",
          "Melbourne, Australia", "Auckland, New Zealand", "Remote"]
SOURCES = ["linkedin"] * 8 + ["referral"] * 3 + ["github"] * 2 + ["inbound"] * 2 + \
    ["event", "agency", "import", "stackoverflow"]
SKILLS = """python java go rust kotlin swift typescript javascript react vue angular node django
flask rails spring kubernetes docker terraform aws gcp azure postgres mysql mongodb redis kafka
spark airflow dbt snowflake bigquery tableau ml nlp llm pytorch tensorflow sklearn statistics
scala haskell elixir erlang clojure c cpp embedded linux security devops sre graphql grpc
microservices frontend backend fullstack mobile ios android figma ux research leadership
hiring mentoring agile scrum product analytics sql excel sales marketing growth seo fintech
healthtech edtech gaming blockchain robotics iot networking compilers databases distributed""".split()
EVENTS = ["PyCon", "KubeCon", "JSConf", "a meetup", "the career fair", "RustConf", "Web Summit",
          "a hackathon", "GopherCon", "re:Invent"]
NOTES = [
    "Strong {s} and {s} background, some {s}.",
    "Met at {e} in {city}; keen on {s}.",
    "Previously at {company} working on {s} and {s}.",
    "Interested in {role} roles, not before {year}.",
    "Referred by {first}. Very good at {s}.",
    "Declined last time (compensation); open to {s} work now.",
    "Great phone screen, weak on {s}, strong on {s}.",
    "Building {s} tooling at {company}; speaks at {e}.",
]
# What recruiters type: skills, title words and phrases, names, companies, cities.
TERMS = [*SKILLS[:60],
         "engineer", "senior engineer", "staff engineer", "data scientist", "product manager",
         "designer", "devops", "machine learning", "python developer", "backend", "frontend",
         "engineering manager", "recruiter", "architect", "analyst", "mobile", "security",
         *FIRST[:40], *LAST[:40], *COMPANY_HEAD[:30],
         "berlin", "london", "new york", "remote", "toronto", "bangalore", "sydney",
         "pyth", "kube", "maria gar", "senior data", "react native", "aws terraform"]


def uuid7_at(moment: datetime, rng: random.Random) -> uuid.UUID:
    """A version 7 UUID for that moment (ids stay time-ordered like the app's)."""
    ms = int(moment.timestamp() * 1000)
    rand = rng.getrandbits(74)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 62 & 0xFFF) << 64
    value |= 0b10 << 62 | rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


@dataclass
class Seeded:
    prospects: list[tuple[Any, ...]] = field(default_factory=list)
    emails: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[Any, ...]] = field(default_factory=list)


PROSPECT_COLUMNS = ["id", "tenant_id", "first_name", "last_name", "title", "company", "location",
                    "source", "owner_id", "custom_fields", "created_by_id", "created_at",
                    "updated_at", "last_activity_at", "last_contacted_at", "last_replied_at",
                    "search_text"]


def generate(tenant_id: uuid.UUID, owners: list[uuid.UUID], count: int, seed: int,
             now: datetime) -> Seeded:
    rng = random.Random(seed)
    companies = [f"{h.title()} {t}" for h in COMPANY_HEAD for t in COMPANY_TAIL]
    skill_weights = [1.0 / (i + 1) ** 0.8 for i in range(len(SKILLS))]  # a few common tags
    out = Seeded()
    start = now - timedelta(days=3 * 365)
    for n in range(count):
        created = start + timedelta(seconds=rng.uniform(0, 3 * 365 * 86400))
        pid = uuid7_at(created, rng)
        first, last = rng.choice(FIRST).title(), rng.choice(LAST).title()
        title = f"{rng.choice(SENIORITY)} {rng.choice(ROLES)}".strip()
        company = rng.choice(companies)
        location = rng.choice(CITIES)
        skills = list(dict.fromkeys(rng.choices(SKILLS, skill_weights, k=rng.randint(1, 4))))
        notes = []
        for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3))):
            notes.append(rng.choice(NOTES).format(
                s=rng.choice(skills + rng.choices(SKILLS, skill_weights, k=2)),
                e=rng.choice(EVENTS), city=rng.choice(CITIES).split(",")[0],
                company=rng.choice(companies), role=rng.choice(ROLES),
                year=rng.choice((2025, 2026, 2027)), first=rng.choice(FIRST).title()))
        active = created + timedelta(days=rng.uniform(0, (now - created).days or 1))
        contacted = active if rng.random() < 0.4 else None
        replied = contacted + timedelta(days=rng.uniform(0, 5)) \
            if contacted and rng.random() < 0.3 else None
        custom = {"years": rng.randint(0, 25)} if rng.random() < 0.5 else {}
        owner = rng.choice(owners) if rng.random() < 0.9 else None
        out.prospects.append((
            pid, tenant_id, first, last, title, company, location, rng.choice(SOURCES), owner,
            json.dumps(custom), owner, created, active,
            active if rng.random() < 0.95 else None, contacted, replied,
            search_text(first, last, title, company, location, *notes)))
        domain = company.lower().replace(" ", "") + ".com"
        for k in range(rng.choice((1, 1, 2))):
            out.emails.append((uuid7_at(created, rng), tenant_id, pid,
                               f"{first.lower()}.{last.lower()}.{seed}.{n}.{k}@{domain}",
                               k == 0, created))
        for skill in skills:
            out.tags.append((uuid7_at(created, rng), tenant_id, pid, skill))
    # Rows reach the table in creation order, as they would in use (the heap follows time).
    order = sorted(range(len(out.prospects)), key=lambda i: out.prospects[i][11])
    out.prospects = [out.prospects[i] for i in order]
    return out


async def seed_tenant(conn: Any, slug: str, count: int, seed: int) -> dict[str, Any]:
    tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", slug)
    owners = [r["user_id"] for r in await conn.fetch(
        "SELECT user_id FROM memberships WHERE tenant_id = $1 ORDER BY user_id", tenant_id)]
    data = generate(tenant_id, owners, count, seed, datetime.now(UTC))
    async with conn.transaction():
        await conn.copy_records_to_table("prospects", records=data.prospects,
                                         columns=PROSPECT_COLUMNS)
        await conn.copy_records_to_table(
            "prospect_emails", records=data.emails,
            columns=["id", "tenant_id", "prospect_id", "email", "is_primary", "created_at"])
        await conn.copy_records_to_table("prospect_tags", records=data.tags,
                                         columns=["id", "tenant_id", "prospect_id", "tag"])
    return {"tenant_id": tenant_id, "owners": owners, "emails": len(data.emails),
            "tags": len(data.tags)}


async def seed_all(url: str, count: int, other_count: int) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        started = time.monotonic()
        # Loading is faster without the secondary indexes (the GIN one above all): drop them
        # and build them again from their own definitions afterwards.
        indexes = await conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'prospects' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        demo = await seed_tenant(conn, "demo", count, seed=1)
        other = await seed_tenant(conn, OTHER_SLUG, other_count, seed=2)
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await conn.execute(index["indexdef"])
        seeded = time.monotonic() - started
        await conn.execute("VACUUM ANALYZE")
        totals = {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                  for t in ("prospects", "prospect_emails", "prospect_tags")}
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('prospects'))")
    finally:
        await conn.close()
    say(f"seeded {count} + {other_count} prospects in {seeded:.1f}s (COPY, {len(indexes)} "
        f"indexes rebuilt), then VACUUM ANALYZE; rows now {totals}; prospects with indexes: "
        f"{size}")
    return {"demo": demo, "other": other}


# --- queries -------------------------------------------------------------------------------

def make_request(rng: random.Random, owners: list[str]) -> dict[str, Any]:
    """A search term and two distinct random filters."""
    now = datetime.now(UTC)
    choices = {
        "sources": lambda: {"sources": rng.sample(["linkedin", "referral", "github", "inbound",
                                                  "event"], rng.choice((1, 2)))},
        "tags": lambda: {"tagsAny": rng.sample(SKILLS[:40], rng.choice((1, 2)))},
        "location": lambda: {"locations": [rng.choice(CITIES).split(",")[0].lower()]},
        "owners": lambda: {"ownerIds": rng.sample(owners, rng.choice((1, 2)))},
        "created": lambda: {"createdAfter": (now - timedelta(days=rng.randint(30, 900)))
                            .isoformat()},
        "contact": lambda: {"contactStatus": rng.choice(["NEVER_CONTACTED",
                                                         "CONTACTED_NO_REPLY", "REPLIED"])},
        "activity": lambda: {"lastActivityAfter": (now - timedelta(days=rng.randint(30, 700)))
                             .isoformat()},
    }
    picked = rng.sample(sorted(choices), 2)
    criteria: dict[str, Any] = {"text": rng.choice(TERMS)}
    for name in picked:
        criteria.update(choices[name]())
    return {"query": QUERY, "variables": {"filter": criteria, "first": 50}}


@dataclass
class Sample:
    ms: float
    rows: int
    kinds: tuple[str, ...]


async def load(url: str, auth: str, owners: list[str], clients: int, seconds: float,
               seed: int) -> tuple[list[Sample], float, list[str]]:
    import httpx

    samples: list[Sample] = []
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(n: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed * 1000 + n)
        while time.monotonic() < deadline:
            body = make_request(rng, owners)
            kinds = tuple(sorted(k for k in body["variables"]["filter"] if k != "text"))
            started = time.perf_counter()
            response = await http.post(url, json=body, headers={"authorization": auth})
            ms = (time.perf_counter() - started) * 1000
            doc = response.json() if response.status_code == 200 else {}
            if response.status_code != 200 or doc.get("errors"):
                failures.append(f"{response.status_code} {response.text[:300]}")
                continue
            samples.append(Sample(ms, len(doc["data"]["prospects"]["edges"]), kinds))

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await asyncio.gather(*(client(n, http) for n in range(clients)))
    return samples, time.monotonic() - started, failures


async def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (the server's pool)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = "
                                "current_database() AND pid <> pg_backend_pid()")
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def cpu_of(server_pid: int, backends: list[int]) -> tuple[float, float]:
    return process_cpu_seconds(server_pid), sum(process_cpu_seconds(p) for p in backends)


async def check_answers(endpoint: str, auth: str, owners: list[str], database_url: str,
                        tenant_id: Any, seed: int, requests: int = 30) -> None:
    """Answers without errors, only the caller's tenant's prospects, each one matching the
    search words somewhere in its search text."""
    import asyncpg
    import httpx

    from api.relay import from_global_id

    rng = random.Random(seed)
    seen: dict[uuid.UUID, str] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(requests):
            body = make_request(rng, owners)
            response = await http.post(endpoint, json=body, headers={"authorization": auth})
            doc = response.json()
            if response.status_code != 200 or doc.get("errors"):
                raise BenchError(f"the search answers {response.status_code}: "
                                 f"{response.text[:300]}")
            for edge in doc["data"]["prospects"]["edges"]:
                decoded = from_global_id(edge["node"]["id"])
                if decoded is None or decoded[0] != "Prospect":
                    raise BenchError(f"not a prospect id: {edge['node']['id']}")
                seen[decoded[1]] = body["variables"]["filter"]["text"]
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT id, tenant_id, search_text FROM prospects "
                                "WHERE id = ANY($1::uuid[])", list(seen))
    finally:
        await conn.close()
    if len(rows) != len(seen) or any(r["tenant_id"] != tenant_id for r in rows):
        raise BenchError("an answer holds a prospect of another tenant (or an unknown one)")
    for row in rows:
        # PostgreSQL matches tokens (the last word as a prefix): each word starts some word
        words = seen[row["id"]].lower().split()
        if not all(f" {w}" in f" {row['search_text']}" for w in words):
            raise BenchError(f"{row['id']} does not match {seen[row['id']]!r}")
    say(f"checked {requests} answers: no errors, {len(seen)} prospects, all of the tenant and "
        "matching their search words")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(samples: list[Sample], elapsed: float, clients: int) -> tuple[float, float]:
    ms = [s.ms for s in samples]
    rows = [s.rows for s in samples]
    p50, p90, p99 = pct(ms, 50), pct(ms, 90), pct(ms, 99)
    say(f"{clients} clients, {len(samples)} requests in {elapsed:.1f}s = "
        f"{len(samples) / elapsed:.1f} req/s")
    say(f"latency ms: p50 {p50:.1f}  p90 {p90:.1f}  p99 {p99:.1f}  max {max(ms):.1f}  "
        f"mean {statistics.mean(ms):.1f}")
    say(f"rows per answer: mean {statistics.mean(rows):.1f}, full pages (50) "
        f"{sum(r == 50 for r in rows) / len(rows):.0%}, empty {sum(r == 0 for r in rows) / len(rows):.0%}")
    slowest: Counter[tuple[str, ...]] = Counter()
    by_kind: dict[tuple[str, ...], list[float]] = {}
    for s in samples:
        by_kind.setdefault(s.kinds, []).append(s.ms)
    for kinds, values in by_kind.items():
        slowest[kinds] = int(pct(values, 99))
    say("p99 by filter pair (ms): " + ", ".join(
        f"{'+'.join(k)} {v}" for k, v in slowest.most_common(5)) + " ...")
    return p50, p99


# --- main ----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prospects", type=int, default=200_000)
    parser.add_argument("--other-prospects", type=int, default=20_000,
                        help="prospects of the second tenant (never in the answers)")
    parser.add_argument("--clients", default="1,2,4",
                        help="concurrent HTTP clients; a comma list measures each in turn")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--seed", type=int, default=7, help="of the request mix")
    parser.add_argument("--p50", type=float, default=50.0, help="target p50, ms")
    parser.add_argument("--p99", type=float, default=150.0, help="target p99, ms")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--keep-database", action="store_true",
                        help="print the database URL and do not drop it (for EXPLAIN)")
    parser.add_argument("--reuse-database", metavar="URL",
                        help="measure against a database seeded before with --keep-database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_bench(bench, parse_args(argv), "tg-search-bench-")


def bench(args: argparse.Namespace, data_dir: Path, servers: list[Server],
          stack: contextlib.ExitStack) -> int:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "TALENTGRAPH_ENV", "MIGRATION_DATABASE_URL")}
    env["TALENTGRAPH_DATA_DIR"] = str(data_dir)
    env["LOG_LEVEL"] = args.log_level
    tg = talentgraph_cmd()
    if args.reuse_database:
        return measure(args, env, tg, args.reuse_database, data_dir, servers, stack,
                       asyncio.run(seeded_facts(args.reuse_database)))
    if args.keep_database:
        name = f"tg_search_bench_{int(time.time())}"
        asyncio.run(_admin(args.pg_url, f'CREATE DATABASE "{name}"'))
        url = args.pg_url.rstrip("/") + f"/{name}"
        say(f"created database {url} (kept)")
    else:
        url = stack.enter_context(postgres_database(args.pg_url))
    env["DATABASE_URL"] = url
    say(run([*tg, "migrate", "up"], env, "talentgraph migrate up").strip())
    run([*tg, "demo"], env, "talentgraph demo")
    run([*tg, "create-tenant", "--slug", OTHER_SLUG, "--name", "Other", "--admin-email",
         "admin@other.example.com", "--admin-password", "other-password-123"], env,
        "talentgraph create-tenant")
    seeded = asyncio.run(seed_all(url, args.prospects, args.other_prospects))
    return measure(args, env, tg, url, data_dir, servers, stack, seeded)


async def seeded_facts(url: str) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE slug = 'demo'")
        owners = [r["user_id"] for r in await conn.fetch(
            "SELECT user_id FROM memberships WHERE tenant_id = $1 ORDER BY user_id", tenant_id)]
        count = await conn.fetchval("SELECT count(*) FROM prospects WHERE tenant_id = $1",
                                    tenant_id)
    finally:
        await conn.close()
    say(f"reusing {url}: {count} prospects in the demo tenant")
    return {"demo": {"tenant_id": tenant_id, "owners": owners}}


def measure(args: argparse.Namespace, env: dict[str, str], tg: list[str], url: str,
            data_dir: Path, servers: list[Server], stack: contextlib.ExitStack,
            seeded: dict[str, Any]) -> int:
    env = {**env, "DATABASE_URL": url}
    stack.callback(stop_all, servers)  # registered after the database: servers stop first
    token = run([*tg, "token", "--tenant", "demo", "--email", DEMO_EMAIL], env,
                "talentgraph token").strip().splitlines()[-1]
    auth = f"Bearer {token}"
    from api.relay import to_global_id

    owners = [str(to_global_id("User", o)) for o in seeded["demo"]["owners"]]
    port = free_port()
    server = start_server("talentgraph serve",
                          [*tg, "serve", "--host", "127.0.0.1", "--port", str(port)],
                          env, port, data_dir / "server.log")
    servers.append(server)
    endpoint = server.url + "/graphql"

    asyncio.run(check_answers(endpoint, auth, owners, url, seeded["demo"]["tenant_id"],
                              args.seed))

    levels = [int(c) for c in str(args.clients).split(",")]
    say(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the runs; "
        f"per level: warm-up {args.warmup:g}s, then {args.duration:g}s measured; "
        "query: text + two filters, first: 50, default (relevance) order")
    verdicts = []
    for clients in levels:
        say("")
        asyncio.run(load(endpoint, auth, owners, clients, args.warmup, args.seed + 1))
        backends = asyncio.run(backend_pids(url))
        cpu_before = cpu_of(server.proc.pid, backends)
        samples, elapsed, failures = asyncio.run(load(endpoint, auth, owners, clients,
                                                      args.duration, args.seed))
        cpu_after = cpu_of(server.proc.pid, backends)
        if failures:
            raise BenchError(f"{len(failures)} failed requests; first: {failures[0]}")
        p50, p99 = report(samples, elapsed, clients)
        say(f"CPU per request: server {1000 * (cpu_after[0] - cpu_before[0]) / len(samples):.1f} "
            f"ms, PostgreSQL {1000 * (cpu_after[1] - cpu_before[1]) / len(samples):.1f} ms "
            "(what one request costs on an idle machine, less sensitive to other load)")
        passed = p50 <= args.p50 and p99 <= args.p99
        verdicts.append(passed)
        say(f"targets p50 <= {args.p50:g} ms, p99 <= {args.p99:g} ms with {clients} "
            f"client(s) -> {'PASS' if passed else 'FAIL'}")
    load_after = os.getloadavg()[0]
    if load_after > (os.cpu_count() or 1):
        say(f"\nWARNING: load average {load_after:.1f} on {os.cpu_count()} CPUs: other programs "
            "competed for the CPU; latencies are inflated. Rerun on a quiet machine.")
    return 0 if all(verdicts) else 1


async def _admin(server_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url.rstrip("/") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
