"""Demo talent CRM data: a few hundred varied prospects with tags, notes and calls, so that a
newcomer's first query returns something worth looking at. Deterministic (seeded)."""

from __future__ import annotations

import random
import unicodedata
from datetime import timedelta

from domain.core import clock
from domain.core.scope import Scope
from domain.prospects import projects, saved_searches, service
from domain.prospects.rules import ProspectData
from domain.prospects.search import ContactStatus, ProspectFilter

FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
         "John", "Radia", "Tim", "Katherine", "Edsger", "Hedy", "Donald", "Sophie", "Guido",
         "Yukihiro", "Anita", "Bjarne", "Shafi", "Leslie", "Jean", "Niklaus", "Lynn", "Vint",
         "Karen", "Whitfield", "Mary", "Ivan", "Adele", "Carol", "Fernando", "Priya", "Chen",
         "Amara", "Diego", "Ines", "Kofi", "Mei", "Omar", "Sven", "Tariq", "Yara", "Zoe"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
        "Allen", "McCarthy", "Perlman", "Berners-Lee", "Johnson", "Dijkstra", "Lamarr", "Knuth",
        "Wilson", "van Rossum", "Matsumoto", "Borg", "Stroustrup", "Goldwasser", "Lamport",
        "Sammet", "Wirth", "Conway", "Cerf", "Spärck Jones", "Diffie", "Keller", "Sutherland",
        "Goldberg", "Shaw", "Corbató", "Raman", "Wei", "Okafor", "Ramírez", "Costa", "Mensah"]
TITLES = ["Senior Software Engineer", "Staff Engineer", "Engineering Manager", "Data Scientist",
          "Product Designer", "Product Manager", "Site Reliability Engineer", "ML Engineer",
          "Frontend Engineer", "Backend Engineer", "Security Engineer", "Technical Recruiter",
          "VP Engineering", "Principal Engineer", "Data Engineer", "iOS Engineer"]
COMPANIES = ["Globex", "Initech", "Umbrella", "Hooli", "Pied Piper", "Stark Industries",
             "Wayne Enterprises", "Acme", "Soylent", "Cyberdyne", "Tyrell", "Wonka", "Aperture",
             "Vandelay", "Dunder Mifflin", "Massive Dynamic"]
LOCATIONS = ["San Francisco, CA", "New York, NY", "Austin, TX", "Seattle, WA", "London, UK",
             "Berlin, Germany", "Toronto, Canada", "Remote", "Boston, MA", "Lisbon, Portugal"]
SOURCES = ["linkedin", "referral", "github", "conference", "inbound", "agency"]
TAGS = ["python", "go", "rust", "react", "kubernetes", "ml", "leadership", "design", "security",
        "data", "mobile", "silver-medalist", "diversity-outreach", "bootcamp", "phd"]
NOTES = ["Strong systems background; open to a move in Q3.",
         "Met at the conference; interested in platform work.",
         "Prefers remote. Compensation expectations above band.",
         "Referred by a current engineer — great culture add.",
         "Not looking right now; reconnect in six months.",
         "Led a migration to Kubernetes at previous company.",
         "Excellent communicator, strong on mentoring."]


# (name, description, visibility, tags any of which puts a prospect in it)
PROJECTS = [("Platform engineers 2027", "Kubernetes and Go people for the platform team.",
             "tenant", {"kubernetes", "go"}),
            ("ML bench", "Machine-learning engineers and data scientists to keep warm.",
             "members", {"ml", "data"}),
            ("Silver medalists", "Strong finalists we did not hire; first call for new reqs.",
             "private", {"silver-medalist"})]
SAVED_SEARCHES = [("Rust people never contacted",
                   ProspectFilter(tags_any=["rust"], contact_status=ContactStatus.NEVER_CONTACTED)),
                  ("Referrals in Berlin or London",
                   ProspectFilter(sources=["referral"], locations=["Berlin", "London"]))]


async def seed(scope: Scope, member_ids: list, count: int = 300) -> int:
    rng = random.Random(42)
    now = clock.now()
    created = 0
    pools: list[tuple[set[str], list]] = [(tags, []) for *_, tags in PROJECTS]
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        handle = unicodedata.normalize("NFKD", f"{first}.{last}".lower().replace(" ", "")
                                       ).encode("ascii", "ignore").decode()
        data = ProspectData(
            first_name=first, last_name=last, emails=[f"{handle}{i}@example.com"],
            profile_urls=[f"https://linkedin.com/in/{handle}-{i}"],
            title=rng.choice(TITLES), company=rng.choice(COMPANIES),
            location=rng.choice(LOCATIONS), source=rng.choice(SOURCES),
            tags=rng.sample(TAGS, rng.randint(1, 3)), owner_id=rng.choice(member_ids))
        prospect, merged = await service.save_prospect(scope, data, activity_source="demo")
        created += not merged
        for tags, members in pools:
            if tags & set(data.tags):
                members.append(prospect.id)
        if rng.random() < 0.4:
            await service.add_note(scope, prospect_id=prospect.id, body=rng.choice(NOTES))
        if rng.random() < 0.25:
            await service.log_call(scope, prospect_id=prospect.id, summary="Intro call",
                                   occurred_at=now - timedelta(days=rng.randint(1, 200)))
    for (name, description, visibility, _), (_, members) in zip(PROJECTS, pools, strict=True):
        project, _token = await projects.create_project(
            scope, name=name, description=description, visibility=visibility,
            member_ids=member_ids if visibility == "members" else ())
        await projects.add_prospects(scope, project_id=project.id, prospect_ids=members)
    for name, criteria in SAVED_SEARCHES:
        await saved_searches.create_saved_search(scope, name=name, filter=criteria)
    return created
