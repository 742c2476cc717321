"""Demo talent CRM data: a few hundred varied prospects with tags, notes and calls, so that a
newcomer's first query returns something worth looking at. Deterministic (seeded)."""

from __future__ import annotations

import random
import unicodedata
from datetime import timedelta

from domain.core import clock
from domain.core.scope import Scope
from domain.prospects import service
from domain.prospects.rules import ProspectData

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


async def seed(scope: Scope, member_ids: list, count: int = 300) -> int:
    rng = random.Random(42)
    now = clock.now()
    created = 0
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
        if rng.random() < 0.4:
            await service.add_note(scope, prospect_id=prospect.id, body=rng.choice(NOTES))
        if rng.random() < 0.25:
            await service.log_call(scope, prospect_id=prospect.id, summary="Intro call",
                                   occurred_at=now - timedelta(days=rng.randint(1, 200)))
    return created
