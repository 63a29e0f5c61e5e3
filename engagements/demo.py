"""A deterministic, realistic synthetic history of engagements on the real reference data.

Used for the demo (`make run`) and the benchmarks (a million engagements). The same seed always gives the
same data. What it models:
- recurring multinational exercise series (African Lion, Flintlock, Obangame Express, Cutlass Express,
  Justified Accord, BALTOPS, Steadfast Defender) with many partners, once a year each;
- bilateral activity (training exchanges, advisory missions, key leader engagements, port visits ...) with
  one or two partners, its mix of types and domains depending on the region;
- after-action reports for most completed engagements, whose ratings follow a per-partner trend;
- a few partners whose cooperation deliberately declines in the last two years (so alerts exist).

Rows are written in bulk: PostgreSQL `COPY` where available, `bulk_create` otherwise. Generated rows carry
no change history (they were never edited by anyone); their authors are recorded as the given user.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import random
from dataclasses import dataclass, field

from django.db import connection, models, transaction
from django.utils import timezone

from core.db import analyze
from engagements.choices import Domain, EngagementType, ParticipantRole, Sensitivity, Status
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation
from engagements.services import reference_allocate
from organizations.models import Organization
from partners.models import PartnerNation

# Territories nobody holds exercises with.
UNINHABITED = {"ATA", "BVT", "HMD", "UMI", "IOT", "ATF", "SGS", "PCN", "TKL", "CCK", "CXR", "NFK", "SJM", "ESH"}

REGION_WEIGHT = {"Africa": 0.36, "Europe": 0.24, "Asia": 0.22, "Americas": 0.14, "Oceania": 0.04}

SERIES = [
    # slug, name, month, length (days), host pool, partner pool (regions/subregions), domain, organization, size
    (
        "african-lion",
        "African Lion",
        5,
        18,
        ["MAR", "TUN", "SEN", "GHA"],
        ["Northern Africa", "Western Africa"],
        Domain.JOINT,
        "AU",
        (10, 25),
    ),
    (
        "flintlock",
        "Flintlock",
        2,
        20,
        ["CIV", "GHA", "NER", "BFA", "MRT", "SEN", "LBY"],
        ["Western Africa", "Northern Africa"],
        Domain.LAND,
        "ECOWAS",
        (8, 22),
    ),
    (
        "obangame-express",
        "Obangame Express",
        3,
        12,
        ["GHA", "NGA", "CMR", "GAB", "CIV", "BEN", "TGO"],
        ["Western Africa", "Middle Africa"],
        Domain.MARITIME,
        "ECCAS",
        (10, 30),
    ),
    (
        "cutlass-express",
        "Cutlass Express",
        2,
        14,
        ["DJI", "KEN", "SYC", "MUS", "MDG", "TZA", "MOZ"],
        ["Eastern Africa"],
        Domain.MARITIME,
        "EAC",
        (8, 18),
    ),
    (
        "justified-accord",
        "Justified Accord",
        3,
        12,
        ["KEN", "DJI", "TZA", "UGA"],
        ["Eastern Africa"],
        Domain.LAND,
        "EAC",
        (6, 20),
    ),
    (
        "baltops",
        "BALTOPS",
        6,
        14,
        ["DEU", "POL", "LTU", "EST", "LVA", "DNK", "SWE", "FIN"],
        ["Northern Europe", "Western Europe", "Eastern Europe"],
        Domain.MARITIME,
        "NATO",
        (12, 20),
    ),
    (
        "steadfast-defender",
        "Steadfast Defender",
        4,
        30,
        ["DEU", "POL", "NOR", "ROU", "LTU"],
        ["Northern Europe", "Western Europe", "Eastern Europe", "Southern Europe", "Northern America"],
        Domain.JOINT,
        "NATO",
        (15, 32),
    ),
]

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


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


class _World:
    """The real reference data the generator draws on, indexed once."""

    def __init__(self, rng: random.Random, declining_share: float):
        partners = [p for p in PartnerNation.objects.exclude(region="").order_by("iso3") if p.iso3 not in UNINHABITED]
        self.by_id = {p.pk: p for p in partners}
        self.by_iso3 = {p.iso3: p for p in partners}
        self.by_region: dict[str, list[PartnerNation]] = {}
        self.by_subregion: dict[str, list[PartnerNation]] = {}
        for p in partners:
            self.by_region.setdefault(p.region, []).append(p)
            self.by_subregion.setdefault(p.intermediate_region or p.subregion, []).append(p)
            self.by_subregion.setdefault(p.subregion, []).append(p)
        self.regions = [(region, REGION_WEIGHT.get(region, 0.02)) for region in self.by_region]
        self.organizations = {o.acronym: o for o in Organization.objects.all()}
        # Some partners are simply more active; a few decline over the last two years.
        self.activity = {p.pk: rng.lognormvariate(0, 0.8) for p in partners}
        self.quality = {p.pk: rng.uniform(-0.6, 0.8) for p in partners}
        engaged = sorted(partners, key=lambda p: -self.activity[p.pk])[: max(10, len(partners) // 2)]
        count = max(1, int(len(engaged) * declining_share))
        self.declining = {p.pk for p in rng.sample(engaged, count)}

    def pick_partner(self, rng: random.Random, region: str) -> PartnerNation:
        pool = self.by_region[region]
        return rng.choices(pool, weights=[self.activity[p.pk] for p in pool], k=1)[0]


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


def plan(
    *, engagements: int, years: int, seed: int, today: datetime.date | None = None, declining_share: float = 0.05
) -> tuple[Plan, _World]:
    """Decide every row in memory (deterministic for a seed) before anything is written."""
    rng = random.Random(seed)
    world = _World(rng, declining_share)
    today = today or timezone.localdate()
    first_year = today.year - years + 1
    start_window = datetime.date(first_year, 1, 1)
    horizon = today + datetime.timedelta(days=180)
    result = Plan()
    series_list = [s for s in SERIES if all(code in world.by_iso3 for code in s[4][:1])]

    def add(**values):
        result.engagements.append(values)
        return len(result.engagements) - 1

    # Exercise series: one iteration a year each.
    for year in range(first_year, today.year + 1):
        for slug, name, month, length, hosts, pools, domain, organization, size in series_list:
            if len(result.engagements) >= engagements:
                break
            start = datetime.date(year, month, rng.randint(1, 20))
            end = start + datetime.timedelta(days=length + rng.randint(-3, 3))
            host = world.by_iso3[hosts[(year + len(name)) % len(hosts)]]
            pool = {p.pk: p for sub in pools for p in world.by_subregion.get(sub, [])}
            pool.pop(host.pk, None)
            partners = [
                p
                for p in pool.values()
                if not (p.pk in world.declining and year >= today.year - 1 and rng.random() < 0.7)
            ]
            count = min(len(partners), rng.randint(*size))
            chosen = rng.sample(sorted(partners, key=lambda p: p.iso3), count)
            status = _status_for(rng, start, end, today)
            index = add(
                title=f"{name} {year}",
                engagement_type=EngagementType.EXERCISE,
                domain=domain,
                status=status,
                start_date=start,
                end_date=end,
                host_country_id=host.pk,
                location_name=rng.choice(LOCATIONS),
                threat_focus=rng.sample(THREATS_BY_REGION.get(host.region, ["deterrence"]), 2),
                series=slug,
                sensitivity=Sensitivity.UNCLASSIFIED,
                budget_usd=rng.randint(5, 60) * 100_000,
                latitude=host.latitude,
                longitude=host.longitude,
            )
            result.participations.append((index, host.pk, ParticipantRole.HOST, rng.randint(200, 1500)))
            for i, partner in enumerate(chosen):
                role = (
                    ParticipantRole.LEAD
                    if i == 0
                    else (ParticipantRole.OBSERVER if rng.random() < 0.1 else ParticipantRole.PARTICIPANT)
                )
                result.participations.append((index, partner.pk, role, rng.randint(10, 600)))
            if organization in world.organizations:
                result.organizations.append((index, world.organizations[organization].pk))
            if status == Status.COMPLETED and rng.random() < 0.9:
                ratings = _ratings(rng, world, [host.pk] + [p.pk for p in chosen], end, today)
                result.reports.append(_report(rng, index, ratings, end, name))

    # Everything else: bilateral and small multilateral activity, spread over the years.
    span = (horizon - start_window).days
    while len(result.engagements) < engagements:
        region = _weighted(rng, world.regions)
        host = world.pick_partner(rng, region)
        if host.pk in world.declining and rng.random() < 0.5:
            # Declining partners see less activity, mostly in the recent past.
            offset = rng.randint(0, max(1, span - 900))
        else:
            offset = rng.randint(0, span)
        start = start_window + datetime.timedelta(days=offset)
        kind = _weighted(rng, BILATERAL_TYPES.get(region, BILATERAL_TYPES["default"]))
        domain = _weighted(rng, DOMAINS_BY_TYPE.get(kind, DOMAINS_BY_TYPE["default"]))
        length = {
            EngagementType.PEACEKEEPING: rng.randint(90, 270),
            EngagementType.ADVISORY_MISSION: rng.randint(14, 120),
        }.get(kind, rng.randint(1, 14))
        end = start + datetime.timedelta(days=length)
        status = _status_for(rng, start, end, today)
        topic = rng.choice(TOPICS)
        title = rng.choice(TITLES[kind]).format(topic=topic)
        partners = [host]
        if rng.random() < 0.35:
            other = world.pick_partner(rng, host.region)
            if other.pk != host.pk:
                partners.append(other)
        if rng.random() < 0.12:
            for _ in range(rng.randint(1, 3)):
                extra = world.pick_partner(rng, host.region)
                if extra not in partners:
                    partners.append(extra)
        index = add(
            title=title,
            engagement_type=kind,
            domain=domain,
            status=status,
            start_date=start,
            end_date=end,
            host_country_id=host.pk,
            location_name=rng.choice(LOCATIONS),
            threat_focus=rng.sample(THREATS_BY_REGION.get(region, ["deterrence"]), 1),
            series=None,
            sensitivity=Sensitivity.RESTRICTED if rng.random() < 0.08 else Sensitivity.UNCLASSIFIED,
            budget_usd=rng.randint(1, 40) * 10_000 if rng.random() < 0.7 else None,
            latitude=None,
            longitude=None,
        )
        for i, partner in enumerate(partners):
            role = (
                (ParticipantRole.HOST if i == 0 else ParticipantRole.PARTICIPANT)
                if kind != EngagementType.TRAINING_EXCHANGE
                else (ParticipantRole.TRAINEE if i == 0 else ParticipantRole.TRAINER)
            )
            result.participations.append((index, partner.pk, role, rng.randint(2, 120)))
        if len(partners) >= 3 or rng.random() < 0.15:
            memberships = [o for o in ("AU", "ECOWAS", "NATO", "EU", "ASEAN", "SADC", "UN") if o in world.organizations]
            if memberships:
                result.organizations.append((index, world.organizations[rng.choice(memberships)].pk))
        if status == Status.COMPLETED and rng.random() < 0.8:
            result.reports.append(
                _report(rng, index, _ratings(rng, world, [p.pk for p in partners], end, today), end, title)
            )
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


def _copy(table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["\\N" if value is None else value for value in row])
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            buffer,  # noqa: S608 (our table names)
        )


def _copy_objects(model, objects: list, *, chunk: int) -> None:
    """COPY unsaved model instances into their table, every concrete column (an auto id left to the database)."""
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and objects and objects[0].pk is None)]

    def value(instance, model_field):
        raw = getattr(instance, model_field.attname)
        return json.dumps(raw) if isinstance(model_field, models.JSONField) else raw

    for start in range(0, len(objects), chunk):
        _copy(
            model._meta.db_table,
            [f.column for f in fields],
            ([value(instance, f) for f in fields] for instance in objects[start : start + chunk]),
        )


def _engagement_objects(plan_: Plan, *, series: dict, user_id, now) -> list[Engagement]:
    references = _references(plan_)
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
            created_by_id=user_id,
            updated_by_id=user_id,
            created_at=now,
            updated_at=now,
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
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM engagements_engagement")
            base_id = cursor.fetchone()[0]
        for number, engagement in enumerate(engagements, start=base_id + 1):
            engagement.pk = number
        _copy_objects(Engagement, engagements, chunk=chunk)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('engagements_engagement', 'id'), %s)",
                [engagements[-1].pk if engagements else base_id or 1],
            )
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
            _copy_objects(model, objects, chunk=chunk)
        else:
            model.objects.bulk_create(objects, batch_size=2000)
    if copy:
        analyze(Engagement, Participation, AfterActionReport)
    return summary


def _coordinate(value):
    if value is None:
        return None
    return round(float(value), 5)


def _series_objects_for_write() -> dict[str, ExerciseSeries]:
    world_orgs = {o.acronym: o for o in Organization.objects.all()}
    existing = {s.slug: s for s in ExerciseSeries.objects.all()}
    for slug, name, *_rest, organization, _size in SERIES:
        if slug not in existing:
            existing[slug] = ExerciseSeries.objects.create(
                slug=slug,
                name=name,
                lead_organization=world_orgs.get(organization),
                description=f"Recurring multinational exercise ({name}).",
            )
    return existing


def generate(*, engagements: int, years: int, seed: int, user=None, today: datetime.date | None = None) -> Summary:
    planned, world = plan(engagements=engagements, years=years, seed=seed, today=today)
    summary = write(planned, user=user)
    summary.declining_partners = sorted(world.by_id[pid].iso3 for pid in world.declining)
    return summary
