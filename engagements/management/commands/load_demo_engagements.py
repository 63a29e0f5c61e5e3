"""A few hundred realistic engagements (2019 to 2026) so a fresh `make run` shows a populated application.

Idempotent: does nothing when any engagement exists. The rows are written in bulk (the services would take
minutes for this many on SQLite), with the same invariants the services enforce: generated references, end
on or after start, one row per partner, ratings 1-5, a "created" history record by the demo planner, and the
partners recorded as changed so the assessments app scores them.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from engagements import services
from engagements.choices import ParticipantRole, Sensitivity, Status
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation, PartnerChange
from engagements.signals import engagement_data_changed
from organizations.models import Organization
from partners.models import PartnerNation

FIRST_YEAR, LAST_YEAR = 2019, 2026

# name, slug, lead organization, month, days, type, domain, threat focus, hosts, lead, pool of participants,
# frameworks, location, latitude, longitude, description
SERIES = [
    (
        "African Lion",
        "african-lion",
        None,
        6,
        14,
        "exercise",
        "joint",
        ["terrorism", "deterrence"],
        ["MAR", "TUN", "SEN", "GHA"],
        "USA",
        ["MAR", "TUN", "SEN", "GHA", "GBR", "FRA", "ITA", "NLD", "BRA", "EGY", "MRT", "NER", "NGA", "ESP"],
        ["AU"],
        "Tan-Tan and Agadir",
        28.44,
        -11.10,
        "The largest annual joint exercise on the African continent: land, air, sea, chemical-biological defence "
        "and humanitarian civic assistance.",
    ),
    (
        "Flintlock",
        "flintlock",
        "ECOWAS",
        2,
        18,
        "exercise",
        "land",
        ["terrorism", "insurgency", "transnational_crime"],
        ["MRT", "CIV", "GHA", "SEN", "NGA"],
        "USA",
        ["MRT", "CIV", "GHA", "SEN", "NGA", "TCD", "BFA", "MLI", "NER", "CMR", "BEN", "FRA", "GBR", "CAN", "NLD"],
        ["ECOWAS"],
        "Special operations training sites",
        8.0,
        -1.0,
        "Special operations forces exercise strengthening counter-terrorism capacity in the Sahel and West Africa.",
    ),
    (
        "Obangame Express",
        "obangame-express",
        "ECCAS",
        3,
        10,
        "multilateral_drill",
        "maritime",
        ["maritime_crime", "transnational_crime"],
        ["CMR", "GHA", "NGA", "GAB", "CIV"],
        "USA",
        ["CMR", "GHA", "NGA", "GAB", "CIV", "BEN", "TGO", "GNQ", "STP", "COG", "AGO", "SEN", "BRA", "PRT", "ESP"],
        ["ECCAS", "ECOWAS"],
        "Gulf of Guinea",
        3.5,
        5.0,
        "Maritime interdiction, boarding and information sharing among Gulf of Guinea navies.",
    ),
    (
        "BALTOPS",
        "baltops",
        "NATO",
        6,
        16,
        "exercise",
        "maritime",
        ["deterrence"],
        ["POL", "DEU", "SWE", "FIN", "EST", "LTU", "LVA"],
        "USA",
        ["POL", "DEU", "SWE", "FIN", "EST", "LTU", "LVA", "DNK", "NOR", "NLD", "FRA", "GBR", "BEL", "TUR"],
        ["NATO"],
        "Baltic Sea",
        55.5,
        16.0,
        "Baltic Operations: the premier maritime exercise in the Baltic region.",
    ),
    (
        "Cutlass Express",
        "cutlass-express",
        None,
        2,
        12,
        "multilateral_drill",
        "maritime",
        ["maritime_crime"],
        ["KEN", "SYC", "MUS", "DJI", "MDG"],
        "USA",
        ["KEN", "SYC", "MUS", "DJI", "MDG", "MOZ", "TZA", "COM", "SOM", "IND", "GBR", "FRA"],
        ["EAC"],
        "Western Indian Ocean",
        -4.6,
        55.45,
        "Maritime security in East African coastal waters: piracy, trafficking and illegal fishing.",
    ),
    (
        "Justified Accord",
        "justified-accord",
        "EAC",
        3,
        12,
        "exercise",
        "land",
        ["terrorism", "disaster_response"],
        ["KEN", "DJI", "TZA"],
        "USA",
        ["KEN", "DJI", "TZA", "UGA", "RWA", "BDI", "ETH", "SOM", "GBR"],
        ["EAC", "AU"],
        "Isiolo and Nanyuki",
        0.35,
        37.58,
        "Peacekeeping, counter-terrorism and crisis response exercise in East Africa.",
    ),
    (
        "Shared Accord",
        "shared-accord",
        "SADC",
        8,
        10,
        "exercise",
        "land",
        ["disaster_response", "insurgency"],
        ["ZAF", "MOZ", "BWA", "MWI"],
        "USA",
        ["ZAF", "MOZ", "BWA", "MWI", "ZMB", "NAM", "LSO", "SWZ", "AGO", "TZA"],
        ["SADC"],
        "Training area",
        -24.65,
        25.9,
        "Peace-support operations and humanitarian assistance for southern African forces.",
    ),
    (
        "Cobra Gold",
        "cobra-gold",
        None,
        2,
        14,
        "exercise",
        "joint",
        ["deterrence", "disaster_response"],
        ["THA"],
        "USA",
        ["THA", "SGP", "IDN", "MYS", "JPN", "KOR", "IND", "CHN", "AUS", "PHL", "VNM"],
        ["ASEAN"],
        "Sattahip and Lop Buri",
        12.68,
        100.9,
        "One of the largest multinational exercises in the Indo-Pacific.",
    ),
]

# Ad-hoc engagement patterns: type, domain, threat focus, title pattern, hosts, partners, frameworks, days.
OTHERS = [
    (
        "training_exchange",
        "land",
        ["terrorism"],
        "{host} counter-IED instructor exchange",
        ["NER", "TCD", "NGA", "CMR", "BFA", "MLI"],
        ["FRA", "USA", "DEU"],
        [],
        (5, 20),
    ),
    (
        "advisory_mission",
        "joint",
        ["insurgency"],
        "{host} defence institution building advisory mission",
        ["SOM", "MOZ", "CAF", "COD", "LBY"],
        ["USA", "GBR", "ITA", "TUR"],
        ["AU", "EU"],
        (20, 90),
    ),
    (
        "peacekeeping",
        "land",
        ["insurgency"],
        "{host} peacekeeping rotation",
        ["CAF", "SSD", "COD", "LBN", "MLI"],
        ["RWA", "BGD", "NPL", "IND", "PAK", "GHA", "SEN", "EGY"],
        ["UN"],
        (90, 240),
    ),
    (
        "key_leader_engagement",
        "joint",
        ["deterrence"],
        "Chiefs of defence talks in {host}",
        ["KEN", "NGA", "GHA", "SEN", "MAR", "EGY", "POL", "EST"],
        ["USA", "FRA", "GBR"],
        [],
        (1, 3),
    ),
    (
        "port_visit",
        "maritime",
        ["maritime_crime"],
        "Port visit and maritime training, {host}",
        ["SEN", "GHA", "NGA", "AGO", "KEN", "TZA", "MOZ", "ZAF", "CPV"],
        ["USA", "FRA", "ESP", "PRT", "ITA"],
        [],
        (3, 6),
    ),
    (
        "humanitarian_assistance",
        "joint",
        ["disaster_response"],
        "{host} flood relief support",
        ["MOZ", "MWI", "MDG", "PAK", "BGD", "PHL", "LBY"],
        ["USA", "GBR", "ZAF", "IND", "JPN"],
        ["UN", "SADC"],
        (10, 45),
    ),
    (
        "bilateral_drill",
        "air",
        ["deterrence"],
        "{host} air policing drill",
        ["EST", "LTU", "LVA", "POL", "ROU", "BGR"],
        ["USA", "DEU", "GBR", "FRA", "ITA", "ESP"],
        ["NATO"],
        (4, 14),
    ),
    (
        "conference",
        "cyber",
        ["cyber"],
        "Regional cyber defence conference, {host}",
        ["EST", "KEN", "GHA", "SGP", "RWA", "MAR"],
        ["USA", "EST", "GBR", "FRA", "NLD", "SGP"],
        ["NATO", "AU", "ASEAN"],
        (2, 4),
    ),
    (
        "multilateral_drill",
        "maritime",
        ["maritime_crime", "transnational_crime"],
        "Lake and river patrol drill, {host}",
        ["TCD", "CMR", "NGA", "NER", "UGA", "TZA"],
        ["FRA", "USA", "BEL"],
        ["ECCAS", "EAC"],
        (5, 12),
    ),
]

SUMMARIES = [
    "Objectives met. Partner units planned and ran the final scenario with little outside help.",
    "Good cooperation at staff level; communications between contingents remained the weak point.",
    "Training delivered as planned. Equipment shortfalls limited the live-fire part.",
    "Strong trust built with the host; follow-on exchanges requested by the partner.",
    "Weather shortened the sea phase; harbour phase completed with all participants.",
]
LESSONS = [
    "Exchange liaison officers before the main planning conference.",
    "Agree on a common radio plan and test it in the first week.",
    "Interpreters are needed at every training site, not only at headquarters.",
    "Bring spare parts for partner vehicles; repairs took days.",
]
RECOMMENDATIONS = [
    "Hold the next iteration with the partner in the lead planning role.",
    "Add a medical evacuation scenario.",
    "Extend the command-post phase by two days.",
    "Invite regional observers earlier.",
]


class Command(BaseCommand):
    help = "Create a few hundred demo engagements (2019-2026) with series, participants and reports, once."

    def handle(self, *args, **options):
        if Engagement.objects.exists():
            self.stdout.write("Demo engagements: some engagements exist already, nothing to do.")
            return
        if not PartnerNation.objects.exists():
            self.stdout.write("Demo engagements: load the reference data first (load_reference_data).")
            return
        count = self._create()
        self.stdout.write(f"Demo engagements: {count} created.")

    @transaction.atomic
    def _create(self) -> int:
        rng = random.Random(4)  # the same demo every time
        today = timezone.localdate()
        planner = get_user_model().objects.filter(username="planner").first()
        partners = {p.iso3: p for p in PartnerNation.objects.all()}
        organizations = {o.acronym: o for o in Organization.objects.all()}
        series_by_slug = self._series(organizations, planner)

        specs = []
        for (
            name,
            slug,
            _org,
            month,
            days,
            kind,
            domain,
            focus,
            hosts,
            lead,
            pool,
            frames,
            place,
            lat,
            lon,
            about,
        ) in SERIES:
            for year in range(FIRST_YEAR, LAST_YEAR + 1):
                if rng.random() < 0.08:  # a year skipped now and then (the pandemic, a crisis)
                    continue
                start = datetime.date(year, month, 1) + datetime.timedelta(days=rng.randint(0, 20))
                host = rng.choice(hosts)
                others = rng.sample([p for p in pool if p not in (host, lead)], k=min(len(pool) - 2, rng.randint(4, 9)))
                specs.append(
                    {
                        "title": f"{name} {year}",
                        "engagement_type": kind,
                        "domain": domain,
                        "start_date": start,
                        "end_date": start + datetime.timedelta(days=days + rng.randint(-2, 4)),
                        "host": host,
                        "lead": lead,
                        "others": others,
                        "frames": frames,
                        "focus": focus,
                        "series": series_by_slug[slug],
                        "location_name": place,
                        "latitude": Decimal(f"{lat + rng.uniform(-0.8, 0.8):.4f}"),
                        "longitude": Decimal(f"{lon + rng.uniform(-0.8, 0.8):.4f}"),
                        "budget": Decimal(rng.randrange(2_000_000, 40_000_000, 250_000)),
                        "description": about,
                    }
                )
        for _ in range(260):
            kind, domain, focus, pattern, hosts, pool, frames, (low, high) = rng.choice(OTHERS)
            host = rng.choice(hosts)
            start = datetime.date(FIRST_YEAR, 1, 1) + datetime.timedelta(days=rng.randint(0, 365 * 8 - 1))
            others = rng.sample([p for p in pool if p != host], k=min(len(pool) - 1, rng.randint(1, 3)))
            partner = partners[host]
            specs.append(
                {
                    "title": pattern.format(host=partner.name),
                    "engagement_type": kind,
                    "domain": domain,
                    "start_date": start,
                    "end_date": start + datetime.timedelta(days=rng.randint(low, high)),
                    "host": host,
                    "lead": others[0],
                    "others": others[1:],
                    "frames": [f for f in frames if rng.random() < 0.6],
                    "focus": focus,
                    "series": None,
                    "location_name": "",
                    "latitude": None,
                    "longitude": None,
                    "budget": Decimal(rng.randrange(50_000, 3_000_000, 10_000)) if rng.random() < 0.8 else None,
                    "description": "",
                }
            )
        specs.sort(key=lambda s: (s["start_date"], s["title"]))

        references: dict[int, list[str]] = {}
        for year in sorted({s["start_date"].year for s in specs}):
            wanted = sum(1 for s in specs if s["start_date"].year == year)
            references[year] = services.reference_allocate(year=year, count=wanted)

        engagements = []
        for spec in specs:
            status = self._status(spec, today, rng)
            engagements.append(
                Engagement(
                    reference=references[spec["start_date"].year].pop(0),
                    title=spec["title"],
                    engagement_type=spec["engagement_type"],
                    domain=spec["domain"],
                    status=status,
                    start_date=spec["start_date"],
                    end_date=spec["end_date"],
                    host_country=partners[spec["host"]],
                    location_name=spec["location_name"],
                    latitude=spec["latitude"],
                    longitude=spec["longitude"],
                    threat_focus=spec["focus"],
                    description=spec["description"],
                    budget_usd=spec["budget"],
                    funding_source=rng.choice(["Title 10", "Partner nation", "EU Peace Facility", "Bilateral grant"]),
                    sensitivity=Sensitivity.RESTRICTED if rng.random() < 0.1 else Sensitivity.UNCLASSIFIED,
                    series=spec["series"],
                    created_by=planner,
                    updated_by=planner,
                )
            )
        bulk_create_with_history(engagements, Engagement, batch_size=500, default_user=planner)
        saved = {e.reference: e for e in Engagement.objects.all()}
        ordered = [saved[e.reference] for e in engagements]  # with their ids, in the order of ``specs``

        participations, links, reports = [], [], []
        through = Engagement.organizations.through
        for spec, engagement in zip(specs, ordered, strict=True):
            rows = [(spec["host"], ParticipantRole.HOST, rng.randint(60, 900))]
            if spec["lead"] != spec["host"]:
                rows.append((spec["lead"], ParticipantRole.LEAD, rng.randint(40, 1200)))
            for code in spec["others"]:
                if code not in (spec["host"], spec["lead"]):
                    role = rng.choice(
                        [ParticipantRole.PARTICIPANT] * 4 + [ParticipantRole.OBSERVER, ParticipantRole.TRAINEE]
                    )
                    personnel = rng.randint(0, 12) if role == ParticipantRole.OBSERVER else rng.randint(15, 450)
                    rows.append((code, role, personnel))
            participations += [
                Participation(engagement=engagement, partner=partners[code], role=role, personnel=personnel)
                for code, role, personnel in rows
            ]
            links += [
                through(engagement=engagement, organization=organizations[a])
                for a in spec["frames"]
                if a in organizations
            ]
            # Old reports are nearly all in; a few recent ones are missing, so the home page lists some overdue.
            expected = 0.98 if engagement.end_date < today - datetime.timedelta(days=365) else 0.7
            if engagement.status == Status.COMPLETED and rng.random() < expected:
                delay = rng.choice([rng.randint(2, 25)] * 4 + [rng.randint(31, 90)])
                submitted = engagement.end_date + datetime.timedelta(days=delay)
                if submitted > today:  # finished recently: the report is not in yet
                    continue
                base = rng.randint(2, 4)
                reports.append(
                    AfterActionReport(
                        engagement=engagement,
                        summary=rng.choice(SUMMARIES),
                        interoperability_rating=min(5, max(1, base + rng.randint(-1, 1))),
                        capacity_rating=min(5, max(1, base + rng.randint(-1, 1))),
                        trust_rating=min(5, max(1, base + rng.randint(0, 1))),
                        lessons_learned=rng.choice(LESSONS),
                        recommendations=rng.choice(RECOMMENDATIONS),
                        submitted_by=planner,
                        submitted_at=datetime.datetime.combine(submitted, datetime.time(10, 0), tzinfo=datetime.UTC),
                    )
                )
        bulk_create_with_history(participations, Participation, batch_size=1000, default_user=planner)
        through.objects.bulk_create(links, batch_size=1000)
        bulk_create_with_history(reports, AfterActionReport, batch_size=500, default_user=planner)

        partner_ids = {p.partner_id for p in participations}
        first_day, last_day = min(s["start_date"] for s in specs), max(s["end_date"] for s in specs)
        PartnerChange.objects.bulk_create(
            [PartnerChange(partner_id=pid, first_day=first_day, last_day=last_day) for pid in sorted(partner_ids)]
        )
        transaction.on_commit(
            lambda: engagement_data_changed.send(
                sender=Engagement, partner_ids=partner_ids, first_day=first_day, last_day=last_day
            )
        )
        return len(ordered)

    def _series(self, organizations, planner) -> dict[str, ExerciseSeries]:
        existing = {s.slug: s for s in ExerciseSeries.objects.all()}
        for name, slug, lead, *_rest, description in SERIES:
            if slug not in existing:
                existing[slug] = services.series_create(
                    name=name,
                    slug=slug,
                    description=description,
                    lead_organization=organizations.get(lead) if lead else None,
                    user=planner,
                )
        return existing

    @staticmethod
    def _status(spec, today: datetime.date, rng: random.Random) -> str:
        if spec["end_date"] < today:
            return Status.CANCELLED if rng.random() < 0.04 else Status.COMPLETED
        if spec["start_date"] <= today:
            return Status.IN_PROGRESS
        return Status.APPROVED if rng.random() < 0.5 else Status.PLANNED
