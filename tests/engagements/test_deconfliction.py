"""Deconfliction worth reading: one finding per other engagement, classified and ranked; long missions said
once, last; findings dismissed with a note stay dismissed for the pair; the availability check needs only
dates and countries, on the form and in the API, and never reveals a restricted engagement to a viewer."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from engagements import deconfliction, services
from engagements.models import FindingDismissal
from tests.assessments.factories import make_engagement, partner
from tests.engagements.test_views import content, create, form_data

pytestmark = pytest.mark.django_db
D = datetime.date
AVAILABILITY = "/api/v1/engagements/availability/"


# An engagement in Côte d'Ivoire in February 2025 with CIV and USA, unless told otherwise.
make = create


@pytest.fixture
def world(planner, reference_data):
    """A plan in Senegal in March 2025, and around it one engagement of each kind of finding."""
    return {
        # A peacekeeping rotation of eight months with Senegal and Ghana: long mission, lowest.
        "rotation": make(
            planner,
            title="MINUSMA rotation",
            engagement_type="peacekeeping",
            host_country="MLI",
            start_date=D(2024, 11, 1),
            end_date=D(2025, 6, 30),
            participants=[{"partner": "SEN"}, {"partner": "GHA"}],
        ),
        # Ghana busy in a week's course elsewhere: partner overlap.
        "course": make(
            planner,
            title="Coastal course",
            host_country="NGA",
            start_date=D(2025, 3, 3),
            end_date=D(2025, 3, 7),
            participants=[{"partner": "GHA"}],
        ),
        # Same host on the same dates, sharing Ghana too: one finding, same host (above the shared partner).
        "seminar": make(
            planner,
            title="Medical seminar",
            host_country="SEN",
            start_date=D(2025, 3, 4),
            end_date=D(2025, 3, 6),
            participants=[{"partner": "GHA"}],
        ),
        # Far away in time: nothing.
        "later": make(planner, title="Later", host_country="SEN", start_date=D(2025, 9, 1), end_date=D(2025, 9, 3)),
        # Cancelled: never a conflict.
        "cancelled": make(
            planner,
            title="Cancelled drill",
            host_country="SEN",
            status="cancelled",
            start_date=D(2025, 3, 5),
            end_date=D(2025, 3, 6),
        ),
    }


def plan(**overrides):
    values = {"start_date": D(2025, 3, 2), "end_date": D(2025, 3, 8), "host": "SEN", "partners": ["SEN", "GHA"]}
    values.update(overrides)
    return deconfliction.plan_from_codes(**values)[0]


def test_each_other_engagement_is_one_finding_ranked_with_long_missions_last(world):
    found = [f.as_dict() for f in deconfliction.findings(plan())]
    assert [(f["reference"], f["kind"]) for f in found] == [
        (world["seminar"].reference, "host_overlap"),
        (world["course"].reference, "partner_overlap"),
        (world["rotation"].reference, "long_mission"),
    ]
    assert [f["rank"] for f in found] == [2, 3, 4]
    assert [f["severity"] for f in found] == ["high", "medium", "low"]
    seminar, course, rotation = found
    assert seminar["partners"] == ["GHA"] and "Shared partners: Ghana." in seminar["message"]
    assert course["partners"] == ["GHA"]
    # The rotation names both busy partners once, as a long mission of 242 days.
    assert rotation["partners"] == ["GHA", "SEN"]
    assert "long mission" in rotation["message"] and "242 days" in rotation["message"]


def test_a_likely_duplicate_outranks_everything(world, planner):
    found = deconfliction.findings(plan(title="Medical seminar 2025", start_date=D(2025, 3, 4), end_date=D(2025, 3, 6)))
    assert found[0].kind == "likely_duplicate" and found[0].other == world["seminar"]
    assert [f.other for f in found].count(world["seminar"]) == 1


def test_availability_needs_only_dates_and_one_country(world):
    assert [f.other for f in deconfliction.findings(plan(host=None, partners=["NGA"]))] == []
    busy = deconfliction.findings(plan(host=None, partners=["GHA"]))
    assert {f.other for f in busy} == {world["course"], world["seminar"], world["rotation"]}
    assert deconfliction.findings(plan(host=None, partners=[])) == []


def test_dismissing_records_who_when_and_why_and_the_pair_stays_dismissed(world, planner):
    mine = make(
        planner,
        title="Dakar port security",
        host_country="SEN",
        start_date=D(2025, 3, 2),
        end_date=D(2025, 3, 8),
        participants=[{"partner": "SEN"}, {"partner": "GHA"}],
    )
    before = deconfliction.engagement_findings(mine)
    assert world["seminar"].pk in {f["engagement_id"] for f in before}
    dismissal = services.finding_dismiss(
        engagement=mine, other_id=world["seminar"].pk, note="Different units, agreed with the host.", user=planner
    )
    assert dismissal.dismissed_by == planner and dismissal.dismissed_at is not None
    assert (dismissal.first_id, dismissal.second_id) == tuple(sorted((mine.pk, world["seminar"].pk)))
    after = {f["engagement_id"] for f in deconfliction.engagement_findings(mine)}
    assert world["seminar"].pk not in after and world["course"].pk in after
    # Not back from the other side either, nor after an edit of either engagement.
    assert mine.pk not in {f["engagement_id"] for f in deconfliction.engagement_findings(world["seminar"])}
    services.engagement_update(engagement=mine, updated_by=planner, title="Dakar port security (edited)")
    assert world["seminar"].pk not in {f["engagement_id"] for f in deconfliction.engagement_findings(mine)}
    # Dismissing again keeps the first record.
    services.finding_dismiss(engagement=world["seminar"], other_id=mine.pk, note="Again", user=planner)
    assert FindingDismissal.objects.get().note == "Different units, agreed with the host."


def test_dismissing_needs_a_note_and_a_visible_other_engagement(world, planner, viewer):
    mine = world["seminar"]
    with pytest.raises(ValidationError) as excinfo:
        services.finding_dismiss(engagement=mine, other_id=world["course"].pk, note="  ", user=planner)
    assert "note" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        services.finding_dismiss(engagement=mine, other_id=10**9, note="ok", user=planner)
    assert "engagement" in excinfo.value.message_dict
    # A viewer writes nothing, dismissals included (the unit scope), whatever engagement is named.
    secret = make(planner, title="Quiet visit", sensitivity="restricted", host_country="SEN")
    with pytest.raises(PermissionDenied):
        services.finding_dismiss(engagement=mine, other_id=secret.pk, note="ok", user=viewer)
    assert not FindingDismissal.objects.exists()
    with pytest.raises(ValidationError):
        services.finding_dismiss(engagement=mine, other_id=mine.pk, note="ok", user=planner)
    assert not FindingDismissal.objects.exists()


# --- pages ------------------------------------------------------------------------------------------------


def test_detail_page_lists_each_finding_once_and_dismisses_one_with_a_note(world, planner, client_for):
    client = client_for(planner)
    seminar = world["seminar"]
    html = content(client.get(f"/engagements/{seminar.pk}/"))
    panel = html[html.index('id="findings"') :]
    assert panel.count(world["course"].reference) == 1
    url = f"/engagements/{seminar.pk}/findings/{world['course'].pk}/dismiss/"
    refused = client.post(url, {"note": ""})
    assert refused.status_code == 400
    assert f'id="note-error-{world["course"].pk}"' in content(refused)
    response = client.post(url, {"note": "Ghana sends other units."}, follow=True)
    html = content(response)
    assert "Finding dismissed." in html
    assert "Ghana sends other units." in html and "dismissed by planner1" in html
    open_part = html[html.index('id="findings"') : html.index("dismissed finding")]
    assert world["course"].reference not in open_part


def test_viewers_cannot_dismiss(world, viewer, client_for):
    client = client_for(viewer)
    seminar = world["seminar"]
    assert "Dismiss finding" not in content(client.get(f"/engagements/{seminar.pk}/"))
    response = client.post(f"/engagements/{seminar.pk}/findings/{world['course'].pk}/dismiss/", {"note": "x"})
    assert response.status_code == 403
    assert not FindingDismissal.objects.exists()


def test_check_for_conflicts_works_with_dates_and_countries_only(world, planner, client_for):
    data = form_data(
        participants=(("GHA", "participant", "10"),),
        title="",
        engagement_type="",
        domain="",
        start_date="2025-03-02",
        end_date="2025-03-08",
        host_country="SEN",
    )
    data["check"] = "1"
    response = client_for(planner).post("/engagements/new/", data)
    html = content(response)
    assert response.status_code == 200
    start = html.index('id="conflict-check"')
    check = html[start : html.index("</section>", start)]
    assert world["seminar"].reference in check and world["course"].reference in check
    assert check.index(world["seminar"].reference) < check.index(world["rotation"].reference)
    # Missing title, type and domain are not reported: the planner only asked a question.
    assert "Nothing was saved" not in html and 'class="field-error"' not in html


def test_check_for_conflicts_says_what_it_needs(world, planner, client_for):
    data = form_data(participants=(), start_date="", end_date="2025-03-08")
    data["check"] = "1"
    html = content(client_for(planner).post("/engagements/new/", data))
    assert "Give the start and end dates to check for conflicts." in html


def test_saving_shows_one_message_pointing_at_the_panel(world, planner, client_for):
    data = form_data(
        participants=(("GHA", "participant", "10"),),
        title="Dakar drill",
        start_date="2025-03-02",
        end_date="2025-03-08",
        host_country="SEN",
    )
    response = client_for(planner).post("/engagements/new/", data, follow=True)
    html = content(response)
    assert "3 possible conflicts: see the findings below." in html
    assert html.count(f"Already in {world['course'].reference}") == 1


def test_detail_page_findings_run_in_a_fixed_number_of_queries(
    world, planner, client_for, django_assert_max_num_queries
):
    client = client_for(planner)
    client.get(f"/engagements/{world['seminar'].pk}/")
    for index in range(6):
        make(planner, title=f"Extra {index}", host_country="SEN", start_date=D(2025, 3, 4), end_date=D(2025, 3, 5))
    with django_assert_max_num_queries(30):
        response = client.get(f"/engagements/{world['seminar'].pk}/")
    assert content(response).count("Same host, same dates") >= 6


# --- API --------------------------------------------------------------------------------------------------


def test_availability_api_answers_ranked_findings(world, planner, api_for, django_assert_max_num_queries):
    api = api_for(planner)
    with django_assert_max_num_queries(12):
        body = api.get(
            AVAILABILITY, {"start": "2025-03-02", "end": "2025-03-08", "partner": "SEN,GHA", "host": "SEN"}
        ).json()
    assert body["available"] is False
    assert [f["kind"] for f in body["findings"]] == ["host_overlap", "partner_overlap", "long_mission"]
    repeated = api.get(f"{AVAILABILITY}?start=2025-03-02&end=2025-03-08&partner=SEN&partner=GHA&host=SEN").json()
    assert repeated["findings"] == body["findings"]
    free = api.get(AVAILABILITY, {"start": "2025-03-02", "end": "2025-03-08", "partner": "NOR"}).json()
    assert free == {"start": "2025-03-02", "end": "2025-03-08", "available": True, "findings": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"end": "2025-03-08", "partner": "SEN"}, "start"),
        ({"start": "notadate", "end": "2025-03-08", "partner": "SEN"}, "start"),
        ({"start": "2025-03-08", "end": "2025-03-01", "partner": "SEN"}, "end"),
        ({"start": "2025-03-01", "end": "2025-03-08"}, "partner"),
        ({"start": "2025-03-01", "end": "2025-03-08", "partner": "XYZ"}, "partner"),
        ({"start": "2025-03-01", "end": "2025-03-08", "host": "QQQ"}, "host"),
    ],
)
def test_availability_api_refuses_bad_input_with_field_messages(world, viewer, api_for, query, field):
    response = api_for(viewer).get(AVAILABILITY, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_restricted_engagement_never_makes_anyone_busy_for_a_viewer(world, planner, viewer, api_for):
    secret = make(
        planner,
        title="Canary-quiet-visit",
        sensitivity="restricted",
        host_country="KEN",
        start_date=D(2025, 4, 1),
        end_date=D(2025, 4, 5),
        participants=[{"partner": "KEN"}],
    )
    query = {"start": "2025-04-01", "end": "2025-04-05", "partner": "KEN", "host": "KEN"}
    seen_by_viewer = api_for(viewer).get(AVAILABILITY, query)
    assert seen_by_viewer.json() == {"start": "2025-04-01", "end": "2025-04-05", "available": True, "findings": []}
    assert "Canary" not in seen_by_viewer.content.decode()
    seen_by_planner = api_for(planner).get(AVAILABILITY, query).json()
    assert [f["engagement_id"] for f in seen_by_planner["findings"]] == [secret.pk]


def test_findings_api_lists_and_dismisses_per_role(world, planner, viewer, api_for):
    url = f"/api/v1/engagements/{world['seminar'].pk}/findings/"
    body = api_for(viewer).get(url).json()
    assert world["course"].pk in [f["engagement_id"] for f in body["findings"]] and body["dismissed"] == []
    denied = api_for(viewer).post(url + "dismiss/", {"engagement": world["course"].pk, "note": "x"}, format="json")
    assert denied.status_code == 403
    bad = api_for(planner).post(url + "dismiss/", {"engagement": world["course"].pk, "note": ""}, format="json")
    assert bad.status_code == 400 and "note" in bad.json()["errors"]
    done = api_for(planner).post(
        url + "dismiss/", {"engagement": world["course"].pk, "note": "Other units."}, format="json"
    )
    assert done.status_code == 200
    body = done.json()
    assert world["course"].pk not in [f["engagement_id"] for f in body["findings"]]
    assert body["dismissed"][0]["engagement"] == world["course"].pk
    assert body["dismissed"][0]["note"] == "Other units." and body["dismissed"][0]["dismissed_by"] == "planner1"


def _by_hand(plan_: deconfliction.Plan, limit: int) -> list[tuple]:
    """The findings as the rules give them when every other engagement is read: the first ``limit`` by start
    date that share a partner on the plan's days, or its host on its days or within the duplicate window of
    its start, each classified with its shared partners (by name)."""
    from engagements.models import Engagement, Participation

    window = datetime.timedelta(days=deconfliction.DUPLICATE_WINDOW_DAYS)
    shared = {}
    for row in Participation.objects.filter(partner_id__in=plan_.partner_ids).select_related("partner"):
        shared.setdefault(row.engagement_id, []).append(row.partner)
    candidates = []
    for other in Engagement.objects.live().exclude(status="cancelled").select_related("host_country"):
        if other.pk == plan_.engagement_id:
            continue
        overlaps = other.start_date <= plan_.end_date and other.end_date >= plan_.start_date
        same_host = plan_.host_country_id is not None and other.host_country_id == plan_.host_country_id
        near = abs((other.start_date - plan_.start_date).days) <= window.days
        if (overlaps and other.pk in shared) or (same_host and (overlaps or near)):
            candidates.append(other)
    candidates.sort(key=lambda e: (e.start_date, e.pk))
    found = [
        f
        for other in candidates[:limit]
        if (f := deconfliction.classify(plan_, other, sorted(shared.get(other.pk, []), key=lambda p: p.name)))
    ]
    found.sort(key=lambda f: (f.rank, f.other.start_date, f.other.pk))
    return [(f.kind, f.other.pk, [p.iso3 for p in f.partners], f.reason) for f in found[: deconfliction.MAX_FINDINGS]]


@pytest.mark.parametrize("limit", [deconfliction.MAX_CANDIDATES, 4])
def test_one_candidates_query_finds_what_reading_every_engagement_finds(
    reference_data, monkeypatch, django_assert_max_num_queries, limit
):
    """Crafted overlaps around a date (same host, shared partners, both, neither, long missions, starts
    within the duplicate window but not overlapping): the findings of the one indexed statement are those of
    the rules applied to every engagement, also when the candidates are cut at the first ``limit``."""
    import random

    monkeypatch.setattr(deconfliction, "MAX_CANDIDATES", limit)
    rng = random.Random(22)
    countries = ["SEN", "GHA", "NGA", "MLI", "CIV"]
    for number in range(40):
        start = D(2025, 3, 1) + datetime.timedelta(days=rng.randint(-25, 25))
        make_engagement(
            rng.sample(countries, rng.randint(0, 2)),
            start,
            start + datetime.timedelta(days=rng.choice([0, 1, 3, 6, 90])),
            status=rng.choice(["planned", "completed", "cancelled"]),
            title=rng.choice(["Medical seminar", "Coastal course", f"Drill {number}"]),
            host_country=partner(rng.choice(countries)),
        )
    plans = [
        plan(),
        plan(host=None),
        plan(partners=[]),
        plan(host="GHA", partners=["MLI", "NGA"], start_date=D(2025, 2, 20), end_date=D(2025, 2, 21)),
        plan(host="NGA", partners=["CIV"], start_date=D(2025, 3, 10), end_date=D(2025, 3, 10), title="Drill 3"),
        plan(host="MLI", partners=["SEN", "GHA", "NGA"], start_date=D(2025, 1, 1), end_date=D(2025, 5, 1)),
    ]
    total = 0
    for plan_ in plans:
        with django_assert_max_num_queries(2):  # the candidates, their shared partners
            found = deconfliction.findings(plan_)
        assert [(f.kind, f.other.pk, [p.iso3 for p in f.partners], f.reason) for f in found] == _by_hand(plan_, limit)
        total += len(found)
    assert total > 5  # the crafted engagements do conflict


def test_the_candidates_statement_reads_partners_from_the_range_index(reference_data):
    """The partners' condition is asked of the partners each engagement carries on its row (``partner_ids``),
    which the range index includes (migration 0024): the candidates' statement reads no participation, and
    the index holds every column the statement filters on."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_engagement(["GHA"], D(2025, 3, 3), D(2025, 3, 7), host_country=partner("NGA"))
    plan_ = plan()
    with CaptureQueriesContext(connection) as captured:
        found = deconfliction.findings(plan_)
    assert [f.kind for f in found] == ["partner_overlap"]
    candidates_sql = captured.captured_queries[0]["sql"]
    assert "engagements_participation" not in candidates_sql
    assert '"partner_ids" &&' in candidates_sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'engagement_span_live'")
        (definition,) = cursor.fetchone()
    included = definition.split("INCLUDE", 1)[1].split(")", 1)[0]
    for column in ("id", "start_date", "end_date", "host_country_id", "sensitivity", "partner_ids"):
        assert column in included


def test_partners_changed_past_the_services_change_the_findings(reference_data):
    """A participation rewritten by SQL (the admin's raw forms, ``QuerySet.update``): the partners on the
    engagement's row follow (the triggers of migration 0022), and so do the findings that read them."""
    from engagements.models import Participation

    busy = make_engagement(["GHA"], D(2025, 3, 3), D(2025, 3, 7), host_country=partner("NGA"))
    with_ghana = plan(host=None, partners=["GHA"])
    with_mali = plan(host=None, partners=["MLI"])
    assert [(f.other.pk, [p.iso3 for p in f.partners]) for f in deconfliction.findings(with_ghana)] == [
        (busy.pk, ["GHA"])
    ]
    assert deconfliction.findings(with_mali) == []
    Participation.objects.filter(engagement=busy).update(partner=partner("MLI"))
    assert deconfliction.findings(with_ghana) == []
    assert [(f.other.pk, [p.iso3 for p in f.partners]) for f in deconfliction.findings(with_mali)] == [
        (busy.pk, ["MLI"])
    ]
