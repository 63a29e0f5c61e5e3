"""A deterministic, believable synthetic history of engagements on the real reference data.

Used for the demo (`make run`) and the benchmarks (a million engagements). The same seed always gives the
same data. The model of the world is data, kept with its sources in ``engagements/data/world/`` (README
there and bench/README.md say what it simplifies):
- ``countries.csv``: coastal or landlocked, sovereign state or territory, and a propensity tier, for every
  country; membership of alliances and organizations by date comes from the reference data;
- ``restrictions.csv``: states nobody here exercises with (sanctioned, embargoed, or after a coup), by date;
- ``series.json``: the recurring multinational exercises with their real pools, leads, hosts and rhythm;
- ``activities.json``: which states bring trainers, advisers and ships (and in what share of activities),
  and the long-tailed propensity of each tier.
The rules it keeps: no restricted state takes part on a restricted date; maritime engagements and port
visits only with coastal hosts; an organization framework only when a participant is a member (not
suspended) on the start date; series leads and hosts from their allowed sets; a few partners decline on
purpose in the last two years (so alerts exist).

Rows are written in bulk: PostgreSQL `COPY` where available, `bulk_create` otherwise, each followed by the
"created" change-history records written in SQL (core/history.py), so the change feed and the audit page
cover generated rows; their author is the given user.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import json
import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from core.copy import copy_objects, draw_ids
from core.db import analyze
from core.history import history_record_created
from core.models import Unit
from engagements.choices import Domain, EngagementType, ParticipantRole, Sensitivity, Status
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation
from engagements.services import reference_allocate
from engagements.services.search import search_names_builder
from engagements.services.shape import partner_ids_of, report_facts
from organizations.models import Membership, Organization
from partners.models import PartnerNation

WORLD_DIR = Path(__file__).resolve().parent / "data" / "world"
HISTORY_REASON = "Generated demo data"

# Activity mix by region (kinds of bilateral activity; not a fact about the world, a plausible spread).
BILATERAL_TYPES = {
    "Africa": [
        (EngagementType.TRAINING_EXCHANGE, 30),
        (EngagementType.ADVISORY_MISSION, 22),
        (EngagementType.KEY_LEADER_ENGAGEMENT, 12),
        (EngagementType.BILATERAL_DRILL, 10),
        (EngagementType.PEACEKEEPING, 10),
        (EngagementType.HUMANITARIAN_ASSISTANCE, 6),
        (EngagementType.CONFERENCE, 6),
        (EngagementType.PORT_VISIT, 4),
    ],
    "default": [
        (EngagementType.TRAINING_EXCHANGE, 26),
        (EngagementType.BILATERAL_DRILL, 18),
        (EngagementType.KEY_LEADER_ENGAGEMENT, 14),
        (EngagementType.CONFERENCE, 12),
        (EngagementType.PORT_VISIT, 10),
        (EngagementType.ADVISORY_MISSION, 10),
        (EngagementType.MULTILATERAL_DRILL, 6),
        (EngagementType.HUMANITARIAN_ASSISTANCE, 4),
    ],
}
DOMAINS_BY_TYPE = {
    EngagementType.PORT_VISIT: [(Domain.MARITIME, 1)],
    EngagementType.PEACEKEEPING: [(Domain.LAND, 8), (Domain.JOINT, 2)],
    EngagementType.HUMANITARIAN_ASSISTANCE: [(Domain.JOINT, 5), (Domain.AIR, 3), (Domain.MARITIME, 2)],
    "default": [
        (Domain.LAND, 38),
        (Domain.MARITIME, 22),
        (Domain.AIR, 18),
        (Domain.JOINT, 14),
        (Domain.CYBER, 7),
        (Domain.SPACE, 1),
    ],
}
THREATS_BY_REGION = {
    "Africa": ["terrorism", "insurgency", "maritime_crime", "transnational_crime", "disaster_response"],
    "Europe": ["deterrence", "cyber", "disaster_response"],
    "Asia": ["maritime_crime", "deterrence", "terrorism", "cyber", "disaster_response"],
    "Americas": ["transnational_crime", "disaster_response", "maritime_crime", "cyber"],
    "Oceania": ["disaster_response", "maritime_crime"],
}
TITLES = {
    EngagementType.TRAINING_EXCHANGE: ["{topic} course", "{topic} training exchange", "Instructor exchange: {topic}"],
    EngagementType.ADVISORY_MISSION: ["Advisory team: {topic}", "{topic} advisory mission", "Mentoring: {topic}"],
    EngagementType.KEY_LEADER_ENGAGEMENT: [
        "Chiefs of defence talks",
        "Key leader engagement: {topic}",
        "Senior staff talks",
    ],
    EngagementType.BILATERAL_DRILL: ["Bilateral {topic} drill", "{topic} field drill"],
    EngagementType.MULTILATERAL_DRILL: ["Regional {topic} drill", "Combined {topic} drill"],
    EngagementType.PEACEKEEPING: ["Peacekeeping rotation", "Pre-deployment training for peacekeepers"],
    EngagementType.HUMANITARIAN_ASSISTANCE: ["Disaster relief support", "Medical outreach", "Humanitarian demining"],
    EngagementType.CONFERENCE: ["{topic} symposium", "Regional {topic} conference"],
    EngagementType.PORT_VISIT: ["Port visit", "Ship visit and deck training"],
    EngagementType.EXERCISE: ["{topic} exercise"],
}
TOPICS = [
    "Counter-IED",
    "Maritime interdiction",
    "Staff planning",
    "Logistics",
    "Military medicine",
    "Border security",
    "NCO development",
    "Cyber defence",
    "Airfield operations",
    "Search and rescue",
    "Military justice",
    "Civil-military cooperation",
    "Explosive ordnance disposal",
    "Intelligence analysis",
    "Communications",
]
LOCATIONS = ["Training centre", "Naval base", "Air base", "Staff college", "Field training area", "Headquarters"]
# Organizations a bilateral or small multilateral activity may run under (peacekeeping runs under the UN).
REGIONAL_FRAMEWORKS = ["AU", "ECOWAS", "SADC", "ECCAS", "EAC", "IGAD", "AES", "NATO", "EU", "ASEAN"]
MEMBER = "member"


# --- the model of the world, read from data files ----------------------------------------------------------


def _date(value: str) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


@cache
def world_data() -> dict:
    """The shipped world model: countries, restrictions, exercise series and activity rules."""
    with (WORLD_DIR / "countries.csv").open(newline="", encoding="utf-8") as handle:
        countries = {row["iso3"]: row for row in csv.DictReader(handle)}
    restrictions: dict[str, list[tuple[datetime.date, datetime.date | None]]] = {}
    with (WORLD_DIR / "restrictions.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            restrictions.setdefault(row["iso3"], []).append((_date(row["from"]), _date(row["until"])))
    series = json.loads((WORLD_DIR / "series.json").read_text(encoding="utf-8"))["series"]
    activities = json.loads((WORLD_DIR / "activities.json").read_text(encoding="utf-8"))
    return {"countries": countries, "restrictions": restrictions, "series": series, "activities": activities}


def restricted_on(iso3: str, day: datetime.date) -> bool:
    """Is ``iso3`` a state nobody here exercises with on ``day`` (restrictions.csv)?"""
    return any(
        start <= day and (until is None or day < until) for start, until in world_data()["restrictions"].get(iso3, [])
    )


@dataclass
class Plan:
    engagements: list[dict] = field(default_factory=list)
    participations: list[tuple[int, int, str, int]] = field(
        default_factory=list
    )  # (engagement index, partner id, role, personnel)
    organizations: list[tuple[int, int]] = field(default_factory=list)  # (engagement index, organization id)
    reports: list[dict] = field(default_factory=list)  # with "index"


@dataclass
class Summary:
    engagements: int = 0
    participations: int = 0
    reports: int = 0
    declining_partners: list[str] = field(default_factory=list)
    series: int = 0


class _Picker:
    """Weighted draws from a fixed pool: cumulative weights once, a bisect per draw (a million draws)."""

    def __init__(self, items: list, weights: list[float]):
        pairs = [(item, w) for item, w in zip(items, weights, strict=True) if w > 0]
        self.items = [item for item, _w in pairs]
        self.cumulative, total = [], 0.0
        for _item, w in pairs:
            total += w
            self.cumulative.append(total)

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


class _World:
    """The reference data and the world model, indexed once."""

    def __init__(self, rng: random.Random, declining_share: float, today: datetime.date):
        data = world_data()
        self.countries = data["countries"]
        self.activities = data["activities"]
        self.series = data["series"]
        tiers = self.activities["tiers"]
        partners = [
            p
            for p in PartnerNation.objects.exclude(region="").order_by("iso3")
            if tiers.get(self.countries.get(p.iso3, {}).get("tier", "3"), 0) > 0
        ]
        self.by_id = {p.id: p for p in partners}
        self.by_iso3 = {p.iso3: p for p in partners}
        self.coastal = {p.id for p in partners if self.countries.get(p.iso3, {}).get("coast") != "landlocked"}
        self.propensity = {p.id: tiers[self.countries.get(p.iso3, {}).get("tier", "3")] for p in partners}
        self.restricted = {
            self.by_iso3[iso3].id: periods for iso3, periods in data["restrictions"].items() if iso3 in self.by_iso3
        }
        self.organizations = {o.acronym: o for o in Organization.objects.all()}
        # (organization id, partner id) -> [(status, joined, left)]: membership by date, from the reference data.
        self.memberships: dict[tuple[int, int], list[tuple[str, datetime.date | None, datetime.date | None]]] = {}
        for org_id, pid, status, joined, left in Membership.objects.values_list(
            "organization_id", "partner_id", "status", "joined", "left"
        ):
            self.memberships.setdefault((org_id, pid), []).append((status, joined, left))
        self.hosts = _Picker(partners, [self.propensity[p.id] for p in partners])
        self.coastal_hosts = _Picker(
            [p for p in partners if p.id in self.coastal],
            [self.propensity[p.id] for p in partners if p.id in self.coastal],
        )
        self.regional = {
            region: _Picker(
                [p for p in partners if p.region == region],
                [self.propensity[p.id] for p in partners if p.region == region],
            )
            for region in {p.region for p in partners}
        }
        self.providers = self._picker(self.activities["providers"])
        self.navies = self._picker(self.activities["visiting_navies"])
        provider_ids = {self.by_iso3[c].id for c in self.activities["providers"] if c in self.by_iso3}
        # Some partners are simply better partners; a few named ones decline over the last two years.
        self.quality = {p.id: rng.uniform(-0.6, 0.8) for p in partners}
        engaged = [
            p
            for p in partners
            if self.countries.get(p.iso3, {}).get("tier") in ("1", "2")
            and p.id not in provider_ids
            and self.allowed(p.id, today)
        ]
        count = max(1, int(len(engaged) * declining_share * 2))
        self.declining = {p.id for p in rng.sample(engaged, min(count, len(engaged)))}

    def _picker(self, weights: dict[str, float]) -> _Picker:
        codes = [code for code in weights if code in self.by_iso3]
        return _Picker([self.by_iso3[c] for c in codes], [weights[c] for c in codes])

    def allowed(self, pid: int, day: datetime.date) -> bool:
        """Not a state nobody exercises with on ``day``."""
        periods = self.restricted.get(pid)
        return not periods or not any(s <= day and (u is None or day < u) for s, u in periods)

    def status_in(self, organization: Organization, pid: int, day: datetime.date) -> str | None:
        for status, joined, left in self.memberships.get((organization.id, pid), ()):
            if (joined is None or joined <= day) and (left is None or day < left):
                return status
        return None

    def member(self, organization: Organization, pid: int, day: datetime.date) -> bool:
        return self.status_in(organization, pid, day) == MEMBER

    def framework(self, rng: random.Random, candidates: list[str], pids: list[int], day: datetime.date):
        """An organization the host (``pids[0]``) is a member of on ``day`` and no participant is suspended
        from; an alliance only when every participant is a member (no outsider in an alliance's activity)."""
        usable = []
        for acronym in candidates:
            organization = self.organizations.get(acronym)
            if organization is None:
                continue
            statuses = [self.status_in(organization, pid, day) for pid in pids]
            if statuses[0] != MEMBER or "suspended" in statuses:
                continue
            if organization.kind == "military_alliance" and any(status != MEMBER for status in statuses):
                continue
            usable.append(organization)
        return rng.choice(usable) if usable else None

    def draw(self, rng: random.Random, picker: _Picker, day: datetime.date, exclude=()) -> PartnerNation | None:
        for _attempt in range(30):
            partner = picker(rng)
            if partner.id not in exclude and self.allowed(partner.id, day):
                return partner
        return None


@cache
def _kind_picker(region: str, coastal: bool) -> _Picker:
    """The mix of bilateral activity for a region; no port visit to a landlocked host."""
    pairs = [
        (k, w)
        for k, w in BILATERAL_TYPES.get(region, BILATERAL_TYPES["default"])
        if coastal or k != EngagementType.PORT_VISIT
    ]
    return _Picker([k for k, _w in pairs], [w for _k, w in pairs])


@cache
def _domain_picker(kind: str, coastal: bool) -> _Picker:
    """The domains of an activity; nothing maritime with a landlocked host."""
    pairs = [
        (d, w) for d, w in DOMAINS_BY_TYPE.get(kind, DOMAINS_BY_TYPE["default"]) if coastal or d != Domain.MARITIME
    ]
    return _Picker([d for d, _w in pairs], [w for _d, w in pairs])


def _status_for(rng: random.Random, start: datetime.date, end: datetime.date, today: datetime.date) -> str:
    if end < today:
        return Status.CANCELLED if rng.random() < 0.03 else Status.COMPLETED
    if start <= today:
        return Status.IN_PROGRESS
    return Status.APPROVED if rng.random() < 0.5 else Status.PLANNED


def _ratings(
    rng: random.Random, world: _World, partner_ids: list[int], end: datetime.date, today: datetime.date
) -> tuple[int, int, int]:
    base = 3.2 + sum(world.quality[pid] for pid in partner_ids) / max(1, len(partner_ids))
    years_left = (today - end).days / 365.0
    if any(pid in world.declining for pid in partner_ids) and years_left < 2:
        base -= 1.6 * (2 - years_left) / 2

    def one():
        return max(1, min(5, round(rng.gauss(base, 0.7))))

    return one(), one(), one()


def _series_iteration(rng, world: _World, spec: dict, year: int, today: datetime.date):
    """One iteration of a recurring exercise: (start, end, host, lead, others, organization), or None."""
    if year < spec["since"] or (year - spec["since"]) % spec["every"]:
        return None
    start = datetime.date(year, spec["month"], rng.randint(1, 20))
    end = start + datetime.timedelta(days=spec["days"] + rng.randint(-3, 3))
    organization = world.organizations.get(spec["organization"]) if spec["organization"] else None
    maritime = spec["domain"] == Domain.MARITIME

    def fits(code: str) -> bool:
        partner = world.by_iso3.get(code)
        return (
            partner is not None and world.allowed(partner.id, start) and (not maritime or partner.id in world.coastal)
        )

    hosts = [
        code
        for code in spec["hosts"]
        if fits(code)
        and not (
            organization
            and spec.get("host_must_be_member")
            and not world.member(organization, world.by_iso3[code].id, start)
        )
    ]
    leads = [code for code in spec["leads"] if fits(code)]
    if not hosts or not leads:
        return None
    host = world.by_iso3[hosts[(year + len(spec["name"])) % len(hosts)]]
    lead = world.by_iso3[leads[0]]
    taken = {host.id, lead.id}
    core = [world.by_iso3[c] for c in spec["core"] if fits(c) and world.by_iso3[c].id not in taken]
    taken |= {p.id for p in core}
    pool = sorted({c for c in spec["pool"] if fits(c) and world.by_iso3[c].id not in taken})
    declining_recent = year >= today.year - 1
    pool = [c for c in pool if not (declining_recent and world.by_iso3[c].id in world.declining and rng.random() < 0.7)]
    wanted = max(0, rng.randint(*spec["size"]) - 2 - len(core))
    others = core + [world.by_iso3[c] for c in rng.sample(pool, min(wanted, len(pool)))]
    return start, end, host, lead, others, organization


def plan(
    *, engagements: int, years: int, seed: int, today: datetime.date | None = None, declining_share: float = 0.05
) -> tuple[Plan, _World]:
    """Decide every row in memory (deterministic for a seed) before anything is written."""
    rng = random.Random(seed)
    today = today or timezone.localdate()
    world = _World(rng, declining_share, today)
    first_year = today.year - years + 1
    start_window = datetime.date(first_year, 1, 1)
    horizon = today + datetime.timedelta(days=180)
    result = Plan()
    activities = world.activities

    def add(**values):
        result.engagements.append(values)
        return len(result.engagements) - 1

    # Exercise series, in their own rhythm.
    for year in range(first_year, today.year + 1):
        for spec in world.series:
            if len(result.engagements) >= engagements:
                break
            iteration = _series_iteration(rng, world, spec, year, today)
            if iteration is None:
                continue
            start, end, host, lead, others, organization = iteration
            status = _status_for(rng, start, end, today)
            index = add(
                title=f"{spec['name']} {year}",
                engagement_type=EngagementType.EXERCISE,
                domain=spec["domain"],
                status=status,
                start_date=start,
                end_date=end,
                host_country_id=host.id,
                location_name=rng.choice(LOCATIONS),
                threat_focus=rng.sample(THREATS_BY_REGION.get(host.region, ["deterrence"]), 2),
                series=spec["slug"],
                sensitivity=Sensitivity.UNCLASSIFIED,
                budget_usd=rng.randint(5, 60) * 100_000,
                latitude=host.latitude,
                longitude=host.longitude,
            )
            result.participations.append((index, host.id, ParticipantRole.HOST, rng.randint(200, 1500)))
            result.participations.append((index, lead.id, ParticipantRole.LEAD, rng.randint(300, 2500)))
            for partner in others:
                role = ParticipantRole.OBSERVER if rng.random() < 0.08 else ParticipantRole.PARTICIPANT
                result.participations.append((index, partner.id, role, rng.randint(10, 600)))
            pids = [host.id, lead.id, *(p.id for p in others)]
            if organization is not None and any(world.member(organization, pid, start) for pid in pids):
                result.organizations.append((index, organization.id))
            if status == Status.COMPLETED and rng.random() < 0.9:
                result.reports.append(_report(rng, index, _ratings(rng, world, pids, end, today), end, spec["name"]))

    # Everything else: bilateral and small multilateral activity, spread over the years.
    span = (horizon - start_window).days
    provider_share = activities["provider_share"]
    provider_roles = activities["provider_roles"]
    while len(result.engagements) < engagements:
        offset = rng.randint(0, span)
        start = start_window + datetime.timedelta(days=offset)
        host = world.draw(rng, world.hosts, start)
        if host is None:
            continue
        if host.id in world.declining and offset > span - 900 and rng.random() < 0.5:
            continue  # declining partners see less activity in the recent past
        region = host.region
        coastal = host.id in world.coastal
        kind = _kind_picker(region, coastal)(rng)
        domain = _domain_picker(kind, coastal)(rng)
        length = {
            EngagementType.PEACEKEEPING: rng.randint(90, 270),
            EngagementType.ADVISORY_MISSION: rng.randint(14, 120),
        }.get(kind, rng.randint(1, 14))
        end = start + datetime.timedelta(days=length)
        status = _status_for(rng, start, end, today)
        topic = rng.choice(TOPICS)
        title = rng.choice(TITLES[kind]).format(topic=topic)
        host_role, provider_role = provider_roles.get(kind, provider_roles["default"])
        members = [(host, host_role)]
        if rng.random() < provider_share.get(kind, 0.5):
            picker = world.navies if kind == EngagementType.PORT_VISIT else world.providers
            provider = world.draw(rng, picker, start, exclude={host.id})
            if provider is not None:
                members.append((provider, provider_role))
        elif kind == EngagementType.PORT_VISIT:
            continue  # a port visit is somebody's ship visiting
        if rng.random() < 0.12:
            for _ in range(rng.randint(1, 3)):
                extra = world.draw(rng, world.regional[region], start, exclude={p.id for p, _r in members})
                if extra is not None:
                    members.append((extra, ParticipantRole.PARTICIPANT))
        pids = [p.id for p, _role in members]
        index = add(
            title=title,
            engagement_type=kind,
            domain=domain,
            status=status,
            start_date=start,
            end_date=end,
            host_country_id=host.id,
            location_name=rng.choice(LOCATIONS),
            threat_focus=rng.sample(THREATS_BY_REGION.get(region, ["deterrence"]), 1),
            series=None,
            sensitivity=Sensitivity.RESTRICTED if rng.random() < 0.08 else Sensitivity.UNCLASSIFIED,
            budget_usd=rng.randint(1, 40) * 10_000 if rng.random() < 0.7 else None,
            latitude=None,
            longitude=None,
        )
        for partner, role in members:
            result.participations.append((index, partner.id, role, rng.randint(2, 120)))
        if len(members) >= 3 or kind == EngagementType.PEACEKEEPING or rng.random() < 0.15:
            candidates = ["UN"] if kind == EngagementType.PEACEKEEPING else REGIONAL_FRAMEWORKS
            organization = world.framework(rng, candidates, pids, start)
            if organization is not None:
                result.organizations.append((index, organization.id))
        if status == Status.COMPLETED and rng.random() < 0.8:
            result.reports.append(_report(rng, index, _ratings(rng, world, pids, end, today), end, title))
    return result, world


def _report(rng: random.Random, index: int, ratings: tuple[int, int, int], end: datetime.date, title: str) -> dict:
    delay = max(0, int(rng.expovariate(1 / 20)))
    submitted = datetime.datetime.combine(
        end + datetime.timedelta(days=delay), datetime.time(10, 0), tzinfo=datetime.UTC
    )
    words = {1: "poor", 2: "limited", 3: "adequate", 4: "good", 5: "excellent"}
    return {
        "index": index,
        "summary": f"{title}: {words[ratings[0]]} interoperability, {words[ratings[1]]} capacity gains, {words[ratings[2]]} trust.",
        "interoperability_rating": ratings[0],
        "capacity_rating": ratings[1],
        "trust_rating": ratings[2],
        "lessons_learned": "",
        "recommendations": "",
        "submitted_at": submitted,
    }


# --- writing ------------------------------------------------------------------------------------------------


def _references(plan_: Plan) -> list[str]:
    per_year: dict[int, list[int]] = {}
    for index, row in enumerate(plan_.engagements):
        per_year.setdefault(row["start_date"].year, []).append(index)
    references = [""] * len(plan_.engagements)
    for year, indexes in per_year.items():
        for index, reference in zip(indexes, reference_allocate(year=year, count=len(indexes)), strict=True):
            references[index] = reference
    return references


# Two commands and their offices (code, name, parent code), and which demo accounts belong where: the
# engagements hosted in Africa belong to the first command's offices, those in Europe to the second's, the
# rest to the default unit (settings.DEFAULT_UNIT_CODE).
DEMO_UNITS = [
    ("AFCMD", "Africa Command", None),
    ("AFCMD-J5", "Africa Command, plans and programmes (J5)", "AFCMD"),
    ("AFCMD-SCO-WEST", "Security cooperation office, West Africa", "AFCMD-J5"),
    ("AFCMD-SCO-EAST", "Security cooperation office, East and Southern Africa", "AFCMD-J5"),
    ("EUCMD", "Europe Command", None),
    ("EUCMD-J5", "Europe Command, plans and programmes (J5)", "EUCMD"),
    ("EUCMD-SCO-NORTH", "Security cooperation office, Northern and Eastern Europe", "EUCMD-J5"),
]
DEMO_MEMBERS = {
    "planner": ["AFCMD-J5"],
    "approver": ["AFCMD"],
    "planner-eu": ["EUCMD-J5"],
    "approver-eu": ["EUCMD"],
    "integrator": [settings.DEFAULT_UNIT_CODE],
}
# Who answers for the engagements of each command (their point of contact), when the account exists.
DEMO_CONTACTS = {"AFCMD": "planner", "EUCMD": "planner-eu"}
_WEST_AFRICA = "Western Africa"
_NORTH_EAST_EUROPE = ("Northern Europe", "Eastern Europe")


@transaction.atomic
def demo_units_ensure() -> dict[str, Unit]:
    """The demo units (and the default unit), and the demo accounts that exist made members. Idempotent."""
    units = {
        settings.DEFAULT_UNIT_CODE: Unit.objects.get_or_create(
            code=settings.DEFAULT_UNIT_CODE, defaults={"name": settings.DEFAULT_UNIT_NAME}
        )[0]
    }
    for code, name, parent in DEMO_UNITS:
        units[code] = Unit.objects.get_or_create(code=code, defaults={"name": name, "parent": units.get(parent)})[0]
    users = {u.username: u for u in get_user_model().objects.filter(username__in=DEMO_MEMBERS)}
    for username, codes in DEMO_MEMBERS.items():
        if username in users:
            for code in codes:
                units[code].members.add(users[username])
    return units


def _owner_for_hosts(units: dict[str, Unit]) -> dict[int, tuple[int, int | None]]:
    """(owner unit id, point of contact id) by host country id, from the host's region."""
    contacts = dict(get_user_model().objects.filter(username__in=DEMO_CONTACTS.values()).values_list("username", "pk"))
    owners = {}
    for pk, region, subregion, intermediate in PartnerNation.objects.values_list(
        "pk", "region", "subregion", "intermediate_region"
    ):
        if region == "Africa":
            code = "AFCMD-SCO-WEST" if _WEST_AFRICA in (subregion, intermediate) else "AFCMD-SCO-EAST"
            owners[pk] = (units[code].pk, contacts.get(DEMO_CONTACTS["AFCMD"]))
        elif region == "Europe":
            code = "EUCMD-SCO-NORTH" if subregion in _NORTH_EAST_EUROPE else "EUCMD-J5"
            owners[pk] = (units[code].pk, contacts.get(DEMO_CONTACTS["EUCMD"]))
    return owners


def _engagement_objects(plan_: Plan, *, series: dict, user_id, now) -> list[Engagement]:
    references = _references(plan_)
    participants: dict[int, list[int]] = {}
    for i, pid, _role, _personnel in plan_.participations:
        participants.setdefault(i, []).append(pid)
    under_framework = {i for i, _oid in plan_.organizations}
    reports = {r["index"]: r for r in plan_.reports}
    names = search_names_builder()  # the search document's names, as the services write them
    units = demo_units_ensure()
    owners = _owner_for_hosts(units)
    default = (units[settings.DEFAULT_UNIT_CODE].pk, None)
    return [
        Engagement(
            reference=references[i],
            title=row["title"],
            engagement_type=row["engagement_type"],
            domain=row["domain"],
            status=row["status"],
            start_date=row["start_date"],
            end_date=row["end_date"],
            host_country_id=row["host_country_id"],
            location_name=row["location_name"],
            latitude=_coordinate(row["latitude"]),
            longitude=_coordinate(row["longitude"]),
            threat_focus=row["threat_focus"],
            budget_usd=row["budget_usd"],
            sensitivity=row["sensitivity"],
            series=series[row["series"]] if row["series"] else None,
            owner_unit_id=owners.get(row["host_country_id"], default)[0],
            point_of_contact_id=owners.get(row["host_country_id"], default)[1],
            created_by_id=user_id,
            updated_by_id=user_id,
            created_at=now,
            updated_at=now,
            search_names=names(
                series_id=series[row["series"]].pk if row["series"] else None,
                host_id=row["host_country_id"],
                participant_ids=participants.get(i, ()),
            ),
            # engagements.services.shape: from the participations and frameworks written with them
            partner_count=len(participants.get(i, ())),
            partner_ids=partner_ids_of(participants.get(i, ())),
            under_framework=i in under_framework,
            **report_facts(reports.get(i)),
        )
        for i, row in enumerate(plan_.engagements)
    ]


@transaction.atomic
def write(plan_: Plan, *, user=None, chunk: int = 100_000) -> Summary:
    """Write the plan: with PostgreSQL by COPY (millions of rows), elsewhere with bulk inserts."""
    series = _series_objects_for_write()
    now = timezone.now()
    user_id = user.pk if user else None
    summary = Summary(
        engagements=len(plan_.engagements),
        participations=len(plan_.participations),
        reports=len(plan_.reports),
        series=len(series),
    )
    engagements = _engagement_objects(plan_, series=series, user_id=user_id, now=now)
    copy = connection.vendor == "postgresql"
    if copy:
        for engagement, pk in zip(engagements, draw_ids(Engagement, len(engagements)), strict=True):
            engagement.pk = pk
        copy_objects(Engagement, engagements, chunk=chunk)
    else:
        engagements = Engagement.objects.bulk_create(engagements, batch_size=2000)
    ids = [e.pk for e in engagements]
    through = Engagement.organizations.through
    related = [
        (
            Participation,
            [
                Participation(engagement_id=ids[i], partner_id=pid, role=role, personnel=personnel)
                for i, pid, role, personnel in plan_.participations
            ],
        ),
        (through, [through(engagement_id=ids[i], organization_id=oid) for i, oid in plan_.organizations]),
        (
            AfterActionReport,
            [
                AfterActionReport(
                    engagement_id=ids[r["index"]],
                    submitted_by_id=user_id,
                    updated_at=now,
                    **{k: v for k, v in r.items() if k != "index"},
                )
                for r in plan_.reports
            ],
        ),
    ]
    for model, objects in related:
        if copy:
            copy_objects(model, objects, chunk=chunk)
        else:
            model.objects.bulk_create(objects, batch_size=2000)
    _history(ids, user=user, date=now, chunk=chunk)
    if copy:
        analyze(Engagement, Participation, AfterActionReport)
    return summary


def _history(ids: list[int], *, user, date, chunk: int) -> None:
    """The "created" history records of the written rows, in SQL: the change feed and the audit page see
    generated engagements as created by ``user`` at ``date`` (core/history.py)."""
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        history_record_created(Engagement, where_field="id", values=part, user=user, date=date, reason=HISTORY_REASON)
        for model in (Participation, AfterActionReport):
            history_record_created(
                model, where_field="engagement", values=part, user=user, date=date, reason=HISTORY_REASON
            )


def _coordinate(value):
    if value is None:
        return None
    return round(float(value), 5)


def _series_objects_for_write() -> dict[str, ExerciseSeries]:
    world_orgs = {o.acronym: o for o in Organization.objects.all()}
    existing = {s.slug: s for s in ExerciseSeries.objects.all()}
    for spec in world_data()["series"]:
        if spec["slug"] not in existing:
            rhythm = "yearly" if spec["every"] == 1 else f"every {spec['every']} years"
            existing[spec["slug"]] = ExerciseSeries.objects.create(
                slug=spec["slug"],
                name=spec["name"],
                lead_organization=world_orgs.get(spec["organization"] or ""),
                description=f"Recurring multinational exercise ({spec['name']}, {rhythm} since {spec['since']}).",
            )
    return existing


def generate(*, engagements: int, years: int, seed: int, user=None, today: datetime.date | None = None) -> Summary:
    planned, world = plan(engagements=engagements, years=years, seed=seed, today=today)
    summary = write(planned, user=user)
    summary.declining_partners = sorted(world.by_id[pid].iso3 for pid in world.declining)
    return summary
