"""The demo world's rules, asserted on a generated data set of 20,000 engagements in the database.

The checks read the reference data through the application's own selectors (members on a date) and the world
model's data files, not the generator's internals: a rule the generator forgets fails here.
"""

import csv
import datetime
import json
from collections import Counter

import pytest
from django.db.models import Count, Exists, OuterRef, Q

from engagements import demo
from engagements.models import Engagement, ExerciseSeries, Participation, ReferenceCounter
from organizations.choices import MEMBER_STATUSES
from organizations.models import Membership

TODAY = datetime.date(2026, 12, 5)
SIZE = 20_000
WORLD = demo.WORLD_DIR


def _csv(name):
    with (WORLD / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


COUNTRIES = {row["iso3"]: row for row in _csv("countries.csv")}
LANDLOCKED = {iso3 for iso3, row in COUNTRIES.items() if row["coast"] == "landlocked"}
SERIES = {s["slug"]: s for s in json.loads((WORLD / "series.json").read_text(encoding="utf-8"))["series"]}
ACTIVITIES = json.loads((WORLD / "activities.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """20,000 generated engagements, written once for the module and removed afterwards."""
    with django_db_blocker.unblock():
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create(username="world-generator")
        existing_series = set(ExerciseSeries.objects.values_list("slug", flat=True))
        summary = demo.generate(engagements=SIZE, years=8, seed=2026, user=user, today=TODAY)
        yield summary
        _remove_generated(existing_series)
        user.delete()


def _remove_generated(existing_series):
    """Empty the engagement tables and their history (an ORM delete of 20,000 rows takes minutes)."""
    from django.db import connection

    from engagements.models import AfterActionReport

    models = [Participation, AfterActionReport, Engagement]
    tables = [m._meta.db_table for m in models] + [m.history.model._meta.db_table for m in models]
    tables.append(Engagement.organizations.through._meta.db_table)
    # The reference counters too: a later transactional test expects its year's numbers to start at 1.
    tables.append(ReferenceCounter._meta.db_table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)} CASCADE")
    else:
        Engagement.organizations.through.objects.all().delete()
        ReferenceCounter.objects.all().delete()
        for model in models:
            model.history.model.objects.all().delete()
            model.objects.all()._raw_delete(connection.alias)
    ExerciseSeries.objects.exclude(slug__in=existing_series).delete()


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("world")]


def test_the_data_set_is_large_enough(world):
    assert Engagement.objects.count() == world.engagements == SIZE


def test_no_restricted_state_takes_part_on_a_restricted_date():
    found = []
    for row in _csv("restrictions.csv"):
        during = Q(engagement__start_date__gte=row["from"])
        if row["until"]:
            during &= Q(engagement__start_date__lt=row["until"])
        found += list(
            Participation.objects.filter(during, partner__iso3=row["iso3"]).values_list(
                "partner__iso3", "engagement__title", "engagement__start_date"
            )[:3]
        )
    assert not found


def test_no_hostile_state_in_an_alliance_exercise():
    alliance = Q(engagement__organizations__acronym="NATO") | Q(engagement__series__slug__in=list(SERIES))
    assert not Participation.objects.filter(alliance, partner__iso3__in=["RUS", "BLR"]).exists()


def test_nothing_maritime_with_a_landlocked_host_or_in_a_maritime_series():
    maritime = Engagement.objects.filter(Q(domain="maritime") | Q(engagement_type="port_visit"))
    assert maritime.count() > 1000
    assert not maritime.filter(host_country__iso3__in=LANDLOCKED).exists()
    assert not Participation.objects.filter(
        engagement__series__slug__in=[s for s, spec in SERIES.items() if spec["domain"] == "maritime"],
        partner__iso3__in=LANDLOCKED,
    ).exists()


def test_every_framework_has_a_participant_that_is_a_member_on_the_start_date():
    through = Engagement.organizations.through
    member = Membership.objects.filter(
        organization=OuterRef("organization"),
        status__in=MEMBER_STATUSES,
        partner__participations__engagement=OuterRef("engagement"),
        joined__lte=OuterRef("engagement__start_date"),
    ).filter(Q(left__isnull=True) | Q(left__gt=OuterRef("engagement__start_date")))
    links = through.objects.annotate(backed=Exists(member))
    assert links.count() > 1000
    unbacked = links.filter(backed=False).values_list("engagement__title", "organization__acronym")[:5]
    assert not list(unbacked)


def test_series_leads_and_hosts_come_from_their_allowed_sets_in_their_rhythm():
    for slug, spec in SERIES.items():
        iterations = Engagement.objects.filter(series__slug=slug)
        years = sorted(iterations.values_list("start_date__year", flat=True))
        assert all((year - spec["since"]) % spec["every"] == 0 for year in years), slug
        assert len(years) == len(set(years)), slug
        assert set(iterations.values_list("host_country__iso3", flat=True)) <= set(spec["hosts"]), slug
        leads = set(
            Participation.objects.filter(engagement__series__slug=slug, role="lead").values_list(
                "partner__iso3", flat=True
            )
        )
        assert leads and leads <= set(spec["leads"]), slug
    # Steadfast Defender is not annual: 2021 and 2024 in an eight-year window.
    years = sorted(
        Engagement.objects.filter(series__slug="steadfast-defender").values_list("start_date__year", flat=True)
    )
    assert years == [2021, 2024]
    # A NATO-tagged exercise is hosted by a NATO member on its start date (Sweden only from 2024-03-07).
    for engagement in Engagement.objects.filter(series__slug__in=["baltops", "steadfast-defender"]).select_related(
        "host_country"
    ):
        assert (
            Membership.objects.members_on(engagement.start_date)
            .filter(organization__acronym="NATO", partner=engagement.host_country)
            .exists()
        ), engagement.title


def test_the_most_engaged_partners_are_the_ones_a_practitioner_would_name():
    counts = Counter(
        dict(
            Participation.objects.values_list("partner__iso3").annotate(n=Count("id")).values_list("partner__iso3", "n")
        )
    )
    named = set(ACTIVITIES["providers"]) | {iso3 for iso3, row in COUNTRIES.items() if row["tier"] == "1"}
    top = [iso3 for iso3, _n in counts.most_common(12)]
    assert set(top) <= named, top
    assert top[0] == "USA"
    small = {iso3 for iso3, row in COUNTRIES.items() if row["tier"] in ("territory", "micro", "none")}
    assert sum(counts[iso3] for iso3 in small) < 0.005 * sum(counts.values())
    # A long tail: the top ten partners take part far more often than the median state.
    states = sorted(counts[iso3] for iso3, row in COUNTRIES.items() if row["status"] == "state")
    assert counts[top[9]] > 5 * states[len(states) // 2]


def test_some_partners_decline_on_purpose(world):
    assert world.declining_partners


def test_generated_engagements_are_in_the_change_history(world, api_for, make_user):
    assert Engagement.history.filter(history_type="+").count() == SIZE
    assert Participation.history.filter(history_type="+").count() == Participation.objects.count()
    since = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).isoformat()
    body = api_for(make_user("feed-reader", "analyst")).get("/api/v1/changes/", {"since": since}).json()
    assert body["count"] >= SIZE - Engagement.objects.filter(sensitivity="restricted").count()
