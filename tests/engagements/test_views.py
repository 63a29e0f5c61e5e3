"""The engagement pages per role: list, CSV, detail, form, status, AAR, delete, calendar, series, home."""

import csv
import datetime
import html as html_lib
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import services
from engagements.models import AfterActionReport, Engagement, Participation
from tests.engagements.factories import (
    AfterActionReportFactory,
    EngagementFactory,
    ExerciseSeriesFactory,
    ParticipationFactory,
    approve,
    default_unit,
    partner,
)

pytestmark = pytest.mark.django_db

D = datetime.date
CSV_COLUMNS = [
    "reference",
    "title",
    "engagement_type",
    "domain",
    "status",
    "start_date",
    "end_date",
    "host_country",
    "location_name",
    "latitude",
    "longitude",
    "organizations",
    "threat_focus",
    "description",
    "budget_usd",
    "funding_source",
    "sensitivity",
    "series",
    "owner_unit",
    "point_of_contact",
    "participants",
    "aar_summary",
    "interoperability_rating",
    "capacity_rating",
    "trust_rating",
    "lessons_learned",
    "recommendations",
    "aar_submitted_at",
    "objectives",  # the assessments app's column, through engagements.extensions
]


def content(response) -> str:
    return html_lib.unescape(response.content.decode())


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def errors_for(html: str, field_id: str) -> list[str]:
    """The error messages the page shows beside the field with this id."""
    return [
        html_lib.unescape(m) for m in re.findall(rf'<p class="field-error" data-for="{field_id}">([^<]*)</p>', html)
    ]


def create(user, **overrides):
    values = {
        "title": "Flintlock 2025",
        "engagement_type": "exercise",
        "domain": "land",
        "start_date": D(2025, 2, 10),
        "end_date": D(2025, 2, 28),
        "host_country": "CIV",
        "participants": [
            {"partner": "CIV", "role": "host", "personnel": 400},
            {"partner": "USA", "role": "lead", "personnel": 600},
        ],
        "organizations": ["ECOWAS"],
    }
    values.update(overrides)
    return services.engagement_create(created_by=user, **values).engagement


def create_approved(user, **overrides):
    """An approved engagement as a planner gets one: created planned by ``user`` (a new engagement starts
    planned), then approved by an approver of its unit (four eyes)."""
    return approve(create(user, **overrides))


def form_data(participants=(("CIV", "host", "400"), ("USA", "lead", "600")), spare_rows=1, **fields) -> dict:
    data = {
        "title": "Flintlock 2025",
        "engagement_type": "exercise",
        "domain": "land",
        "status": "planned",
        "start_date": "2025-02-10",
        "end_date": "2025-02-28",
        "host_country": "CIV",
        "location_name": "Abidjan",
        "latitude": "5.36",
        "longitude": "-4.01",
        "organizations": ["ECOWAS"],
        "threat_focus": ["terrorism", "insurgency"],
        "series": "",
        "sensitivity": "unclassified",
        "budget_usd": "1500000",
        "funding_source": "Title 10",
        "description": "Special operations exercise.",
        "version": "",
    }
    rows = [*participants, *[("", "participant", "0")] * spare_rows]
    data.update(
        {
            "participants-TOTAL_FORMS": str(len(rows)),
            "participants-INITIAL_FORMS": "0",
            "participants-MIN_NUM_FORMS": "0",
            "participants-MAX_NUM_FORMS": "1000",
        }
    )
    for index, row in enumerate(rows):
        code, role, personnel = row[:3]
        data[f"participants-{index}-partner"] = code
        data[f"participants-{index}-role"] = role
        data[f"participants-{index}-personnel"] = personnel
        if len(row) > 3 and row[3]:
            data[f"participants-{index}-DELETE"] = "on"
    data.update(fields)
    return data


# --- permissions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_readers_get_403_on_every_write(make_user, client_for, planner, reference_data, role):
    engagement = create(planner, status="completed")
    client = client_for(make_user("reader", role))
    pk = engagement.pk
    assert client.get("/engagements/new/").status_code == 403
    assert client.post("/engagements/new/", form_data()).status_code == 403
    assert client.get(f"/engagements/{pk}/edit/").status_code == 403
    assert client.post(f"/engagements/{pk}/edit/", form_data(title="Hijacked")).status_code == 403
    assert client.post(f"/engagements/{pk}/status/", {"status": "cancelled"}).status_code == 403
    assert client.get(f"/engagements/{pk}/after-action/").status_code == 403
    aar = {"summary": "x", "interoperability_rating": 3, "capacity_rating": 3, "trust_rating": 3}
    assert client.post(f"/engagements/{pk}/after-action/", aar).status_code == 403
    assert client.get(f"/engagements/{pk}/delete/").status_code == 403
    assert client.post(f"/engagements/{pk}/delete/", {"reason": "no"}).status_code == 403
    engagement.refresh_from_db()
    assert (engagement.title, engagement.status, engagement.deleted_at) == ("Flintlock 2025", "completed", None)
    assert Engagement.objects.count() == 1 and not AfterActionReport.objects.exists()
    # Readers read, but are offered no write buttons.
    html = content(client.get(f"/engagements/{pk}/"))
    assert "Flintlock 2025" in html
    for url in (f"/engagements/{pk}/edit/", f"/engagements/{pk}/delete/", f"/engagements/{pk}/status/", "/new/"):
        assert url not in html


def test_anonymous_users_are_sent_to_login(client, planner, reference_data):
    engagement = create(planner)
    for url in ("/engagements/", f"/engagements/{engagement.pk}/", "/engagements/calendar/", "/engagements/series/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_viewer_never_sees_a_restricted_engagement(client_for, viewer, analyst, planner, reference_data):
    series = ExerciseSeriesFactory(name="Obangame Express", slug="obangame-express")
    secret = create(
        planner, title="Secret Obangame", sensitivity="restricted", series="obangame-express", status="completed"
    )
    public = create(planner, title="Open Obangame", series="obangame-express", start_date=D(2025, 2, 12))
    client = client_for(viewer)
    html = content(client.get("/engagements/"))
    assert "Open Obangame" in html and "Secret Obangame" not in html
    assert "1 engagement" in html
    for query in ({"q": "Secret"}, {"q": secret.reference}, {"sensitivity": "restricted"}):
        found = content(client.get("/engagements/", query))
        assert "0 engagements" in found and f"/engagements/{secret.pk}/" not in found
    rows = csv_rows(client.get("/engagements/", {"export": "csv"}))
    assert [r["title"] for r in rows] == ["Open Obangame"]
    assert client.get(f"/engagements/{secret.pk}/").status_code == 404
    assert "Secret" not in content(client.get("/engagements/calendar/", {"month": "2025-02"}))
    series_page = content(client.get(f"/engagements/series/{series.slug}/"))
    assert "Open Obangame" in series_page and "Secret" not in series_page
    assert re.search(
        r"Obangame Express</strong></a></td>\s*<td>.*?</td>\s*<td class=\"num\">1</td>",
        content(client.get("/engagements/series/")),
        re.S,
    )
    # The public engagement overlaps the secret one (same host, partners, series): the warnings must not name it.
    detail = content(client.get(f"/engagements/{public.pk}/"))
    assert secret.reference not in detail and "Secret" not in detail
    # Analysts and planners do see it.
    for user in (analyst, planner):
        client = client_for(user)
        assert "Secret Obangame" in content(client.get("/engagements/"))
        assert client.get(f"/engagements/{secret.pk}/").status_code == 200
        assert secret.reference in content(client.get(f"/engagements/{public.pk}/"))


# --- list -----------------------------------------------------------------------------------------------


@pytest.fixture
def varied(planner, reference_data):
    ExerciseSeriesFactory(name="African Lion", slug="african-lion")
    return {
        "lion": create(
            planner,
            title="African Lion 2024",
            engagement_type="exercise",
            domain="joint",
            status="completed",
            start_date=D(2024, 6, 1),
            end_date=D(2024, 6, 14),
            host_country="MAR",
            participants=[{"partner": "MAR", "role": "host"}, {"partner": "USA", "role": "lead"}],
            organizations=["AU"],
            series="african-lion",
            location_name="Tan-Tan",
        ),
        "baltops": create_approved(
            planner,
            title="BALTOPS 2025",
            engagement_type="multilateral_drill",
            domain="maritime",
            start_date=D(2025, 6, 5),
            end_date=D(2025, 6, 20),
            host_country="POL",
            participants=[{"partner": "POL", "role": "host"}, {"partner": "DEU", "role": "participant"}],
            organizations=["NATO"],
            description="Baltic operations with mine countermeasures.",
        ),
        "kle": create(
            planner,
            title="Chiefs of defence talks",
            engagement_type="key_leader_engagement",
            domain="joint",
            status="planned",
            start_date=D(2026, 1, 10),
            end_date=D(2026, 1, 11),
            host_country="KEN",
            participants=[{"partner": "KEN", "role": "host"}],
            organizations=[],
        ),
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"engagement_type": "exercise"}, {"lion"}),
        ({"engagement_type": ["exercise", "key_leader_engagement"]}, {"lion", "kle"}),
        ({"status": "approved"}, {"baltops"}),
        ({"domain": "joint"}, {"lion", "kle"}),
        ({"partner": "USA"}, {"lion"}),
        ({"partner": "DEU"}, {"baltops"}),
        ({"organization": "NATO"}, {"baltops"}),
        ({"host_country": "KEN"}, {"kle"}),
        ({"series": "african-lion"}, {"lion"}),
        ({"start_after": "2025-01-01"}, {"baltops", "kle"}),
        ({"start_after": "2025-01-01", "start_before": "2025-12-31"}, {"baltops"}),
        ({"q": "mine counter"}, {"baltops"}),
        ({"q": "tan-tan"}, {"lion"}),
        ({"aar_overdue": "true"}, {"lion"}),
        ({}, {"lion", "baltops", "kle"}),
    ],
)
def test_list_filters_live_in_the_url(client_for, viewer, varied, query, expected):
    client = client_for(viewer)
    html = content(client.get("/engagements/", query))
    shown = {key for key, e in varied.items() if f"/engagements/{e.pk}/" in html}
    assert shown == expected
    # The CSV export applies the same filters to the whole set.
    rows = csv_rows(client.get("/engagements/", {**query, "export": "csv"}))
    assert {r["reference"] for r in rows} == {varied[key].reference for key in expected}


def test_filter_values_are_kept_in_the_form_and_bad_ones_explained(client_for, viewer, varied):
    client = client_for(viewer)
    html = content(client.get("/engagements/", {"status": "approved", "partner": "DEU", "q": "Baltic"}))
    assert 'value="approved" checked' in html
    assert '<option value="DEU" selected>' in html
    assert 'value="Baltic"' in html
    # Pagination and sort links keep the filters.
    assert "status=approved" in html and "partner=DEU" in html
    response = client.get("/engagements/", {"start_after": "2025-13-45", "page": "x", "ordering": "nonsense"})
    assert response.status_code == 400
    assert "Some filters were not understood" in content(response)
    assert "Order by: Select a valid choice." in content(response)  # the hidden ordering, named above the form
    response = client.get("/engagements/", {"aar_overdue": "maybe"})
    assert response.status_code == 400 and "Write true or false." in content(response)
    assert client.get("/engagements/", {"page": "x", "page_size": "many"}).status_code == 200  # paging falls back


def test_sortable_columns(client_for, viewer, varied):
    client = client_for(viewer)
    html = content(client.get("/engagements/", {"ordering": "title"}))
    positions = [html.index(title) for title in ("African Lion 2024", "BALTOPS 2025", "Chiefs of defence talks")]
    assert positions == sorted(positions)
    html = content(client.get("/engagements/", {"ordering": "-title", "domain": "joint"}))
    assert html.index("Chiefs of defence talks") < html.index("African Lion 2024")
    # The title header now sorts ascending again and keeps the domain filter.
    assert 'href="?ordering=title&domain=joint"' in html
    default = content(client.get("/engagements/"))  # newest first
    assert default.index("Chiefs of defence talks") < default.index("BALTOPS 2025") < default.index("African Lion 2024")


def test_csv_columns_match_the_import_format(client_for, planner, reference_data):
    ExerciseSeriesFactory(name="Flintlock", slug="flintlock")
    engagement = create(
        planner,
        status="completed",
        series="flintlock",
        threat_focus=["terrorism", "insurgency"],
        latitude="5.36",
        longitude="-4.01",
        budget_usd="1500000",
        location_name="Abidjan",
        organizations=["ECOWAS", "AU"],
        description="=cmd()",
    )
    services.after_action_submit(
        engagement=engagement,
        user=planner,
        summary="Good.",
        interoperability_rating=4,
        capacity_rating=3,
        trust_rating=5,
    )
    response = client_for(planner).get("/engagements/", {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    header = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()[0]
    assert header.split(",") == CSV_COLUMNS
    row = csv_rows(client_for(planner).get("/engagements/", {"export": "csv"}))[0]
    assert row["reference"] == engagement.reference
    assert row["host_country"] == "CIV"
    assert row["organizations"] == "AU;ECOWAS"
    assert row["threat_focus"] == "terrorism;insurgency"
    assert row["series"] == "flintlock"
    assert row["participants"] == "CIV:host:400;USA:lead:600"
    assert (row["interoperability_rating"], row["capacity_rating"], row["trust_rating"]) == ("4", "3", "5")
    assert row["aar_summary"] == "Good."
    assert row["aar_submitted_at"].startswith(str(timezone.now().year))
    assert row["latitude"] == "5.36" and row["budget_usd"] == "1500000"
    assert row["description"] == "'=cmd()"  # a spreadsheet formula is neutralised


def _bulk_engagements(count: int) -> None:
    """``count`` engagements with two participants each, an AAR on every tenth, written in bulk."""
    fra, usa, gbr = partner("FRA"), partner("USA"), partner("GBR")
    unit = default_unit()
    start = D(2020, 1, 1)
    Engagement.objects.bulk_create(
        [
            Engagement(
                reference=f"ENG-2098-{n:06d}",
                title=f"Bulk engagement {n}",
                engagement_type="exercise",
                domain="land",
                status="completed",
                start_date=start + datetime.timedelta(days=n % 2000),
                end_date=start + datetime.timedelta(days=n % 2000 + 5),
                host_country=fra,
                sensitivity="restricted" if n % 7 == 0 else "unclassified",
                owner_unit=unit,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    ids = list(Engagement.objects.filter(reference__startswith="ENG-2098-").values_list("pk", flat=True))
    Participation.objects.bulk_create(
        [Participation(engagement_id=pk, partner=p, personnel=10) for pk in ids for p in (usa, gbr)], batch_size=5000
    )
    AfterActionReport.objects.bulk_create(
        [
            AfterActionReport(
                engagement_id=pk,
                summary="ok",
                interoperability_rating=3,
                capacity_rating=3,
                trust_rating=3,
                submitted_at=timezone.now(),
            )
            for pk in ids[::10]
        ]
    )


def _count_queries(client, query) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/engagements/", query)
    assert response.status_code == 200
    return len(captured), content(response)


@pytest.mark.parametrize("user_role", ["viewer", "planner"])
def test_list_runs_in_constant_queries_with_10000_engagements(
    make_user, client_for, reference_data, django_assert_max_num_queries, user_role
):
    client = client_for(make_user("reader", user_role))
    _bulk_engagements(30)
    small, _ = _count_queries(client, {"page_size": 25})
    # The default order counts the current and coming rows first (core.paging.SplitOrder): one query more
    # than a chosen order, but as many for ten thousand rows as for thirty.
    small_by_title, _ = _count_queries(client, {"page_size": 25, "ordering": "title"})
    Engagement.objects.all().delete()
    _bulk_engagements(10_000)
    large, html = _count_queries(client, {"page_size": 100, "ordering": "title"})
    assert large == small_by_title
    assert _count_queries(client, {"page_size": 100, "page": 7})[0] == small
    # A partner filter asks first how many participations its partners have, to choose its plan (one query,
    # stopping at LIST_PARTNER_PROBE_FROM: engagements/filtersets.py), whatever the number of rows.
    with django_assert_max_num_queries(small + 1):
        client.get("/engagements/", {"partner": "USA", "page": 3})
    visible = 10_000 if user_role == "planner" else 10_000 - len(range(0, 10_000, 7))
    assert f"Page 1 of {-(-visible // 100)}" in html
    assert html.count('<td class="nowrap"><a href="/engagements/') == 100


# --- detail ---------------------------------------------------------------------------------------------


def test_detail_shows_facts_participants_map_report_and_history(client_for, planner, make_user, reference_data):
    ExerciseSeriesFactory(name="Flintlock", slug="flintlock")
    engagement = create(planner, status="completed", series="flintlock", latitude="5.36", longitude="-4.01")
    editor = make_user("editor2", "planner")
    services.engagement_update(
        engagement=engagement,
        updated_by=editor,
        expected_version=1,
        title="Flintlock 2025 (West Africa)",
        participants=[
            {"partner": "CIV", "role": "host", "personnel": 450},
            {"partner": "USA", "role": "lead", "personnel": 600},
        ],
    )
    services.after_action_submit(
        engagement=engagement,
        user=editor,
        summary="Objectives met.",
        interoperability_rating=4,
        capacity_rating=2,
        trust_rating=5,
    )
    html = content(client_for(planner).get(f"/engagements/{engagement.pk}/"))
    assert "Flintlock 2025 (West Africa)" in html and engagement.reference in html
    assert "Côte d'Ivoire" in html and "United States" in html
    assert "1,050" in html  # personnel total
    assert "2 partners" in html
    assert "ECOWAS" in html and "Flintlock" in html
    assert 'class="map map-zoomed"' in html and 'class="land highlighted"' in html and 'class="marker selected"' in html
    assert "Objectives met." in html and ">4<" in html and ">2<" in html and ">5<" in html
    assert "AAR +" in html  # the timeliness badge
    # History: who changed which field, old and new.
    history = html[html.index('id="history"') :]
    assert "editor2" in history and "planner1" in history
    assert "Flintlock 2025 → Flintlock 2025 (West Africa)" in re.sub(r"<[^>]+>", "", history)
    assert "400 → 450" in re.sub(r"<[^>]+>", "", history)


@pytest.mark.parametrize(
    "status, offered",
    [
        # Approved is not a status button: an approver approves (four-eyes, the Approval section).
        ("planned", {"in_progress", "completed", "cancelled"}),
        ("approved", {"in_progress", "completed", "cancelled"}),
        ("in_progress", {"completed", "cancelled"}),
        ("completed", set()),
        ("cancelled", set()),
    ],
)
def test_status_buttons_offer_only_allowed_moves(client_for, planner, reference_data, status, offered):
    engagement = create_approved(planner) if status == "approved" else create(planner, status=status)
    html = content(client_for(planner).get(f"/engagements/{engagement.pk}/"))
    buttons = set(re.findall(r'<button type="submit" name="status" value="([a-z_]+)"', html))
    asking = set(re.findall(rf"/engagements/{engagement.pk}/status/\?status=([a-z_]+)", html))
    assert buttons | asking == offered
    assert asking == offered & {"cancelled"}  # cancelling asks why first, never one click


def test_unknown_or_deleted_engagement_is_a_404(client_for, planner, reference_data):
    client = client_for(planner)
    assert client.get("/engagements/999999/").status_code == 404
    assert client.get("/engagements/99999999999999999999999/").status_code == 404
    engagement = create(planner)
    services.engagement_delete(engagement=engagement, user=planner, reason="Entered twice")
    assert client.get(f"/engagements/{engagement.pk}/").status_code == 404
    assert client.get(f"/engagements/{engagement.pk}/edit/").status_code == 404


# --- deconfliction --------------------------------------------------------------------------------------


def test_warnings_after_saving_and_on_the_detail_page_for_each_kind(client_for, planner, reference_data):
    ExerciseSeriesFactory(name="Flintlock", slug="flintlock")
    partner_clash = create(
        planner, title="Sahel training", host_country="SEN", participants=[{"partner": "USA"}], organizations=[]
    )
    host_clash = create(
        planner, title="Port visit", host_country="CIV", participants=[{"partner": "FRA"}], start_date=D(2025, 2, 25)
    )
    duplicate = create(
        planner,
        title="Flintlock 25",
        host_country="CIV",
        participants=[{"partner": "GHA"}],
        series="flintlock",
        start_date=D(2025, 2, 14),
        end_date=D(2025, 2, 16),
    )
    far_away = create(
        planner,
        title="Unrelated",
        host_country="KEN",
        participants=[{"partner": "KEN"}],
        start_date=D(2025, 6, 1),
        end_date=D(2025, 6, 5),
    )
    client = client_for(planner)
    response = client.post("/engagements/new/", form_data(series="flintlock"), follow=True)
    assert response.status_code == 200
    html = content(response)
    created = Engagement.objects.get(title="Flintlock 2025", series__slug="flintlock")
    assert response.redirect_chain[-1][0] == f"/engagements/{created.pk}/"
    warnings = html[html.index('id="warnings-title"') :]
    # After saving, one message points at the panel; each finding is listed once, in the panel.
    assert "3 possible conflicts: see the findings below." in html
    assert html.count(f"Already in {partner_clash.reference}") == 1
    assert re.search(rf'warning-partner_overlap">.*?{partner_clash.reference}', warnings, re.S)
    assert re.search(rf'warning-host_overlap">.*?{host_clash.reference}', warnings, re.S)
    assert re.search(rf'warning-likely_duplicate">.*?{duplicate.reference}', warnings, re.S)
    assert far_away.reference not in html
    # Shown again on a later visit of the detail page.
    again = content(client.get(f"/engagements/{created.pk}/"))
    assert partner_clash.reference in again and host_clash.reference in again and duplicate.reference in again


def test_no_warning_without_overlap(client_for, planner, reference_data):
    create(planner, title="Earlier", start_date=D(2024, 1, 1), end_date=D(2024, 1, 9))
    create(planner, title="Other host", host_country="KEN", participants=[{"partner": "KEN"}], organizations=[])
    response = client_for(planner).post("/engagements/new/", form_data(), follow=True)
    html = content(response)
    assert "Deconfliction findings" not in html and "possible conflict" not in html and "Already in" not in html


def test_conflict_check_before_saving_saves_nothing(client_for, planner, reference_data):
    other = create(planner, title="Sahel training", host_country="SEN", participants=[{"partner": "USA"}])
    before = Engagement.objects.count()
    response = client_for(planner).post("/engagements/new/", {**form_data(), "check": "1"})
    html = content(response)
    assert response.status_code == 200
    assert other.reference in html and "Conflict check" in html
    assert Engagement.objects.count() == before
    assert 'value="Flintlock 2025"' in html  # the form is still filled in


# --- create and edit ------------------------------------------------------------------------------------


def test_planner_creates_an_engagement_through_the_form(client_for, planner, reference_data):
    response = client_for(planner).post("/engagements/new/", form_data())
    engagement = Engagement.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/engagements/{engagement.pk}/"
    assert engagement.created_by == planner
    assert engagement.reference.startswith("ENG-2025-")
    assert engagement.threat_focus == ["terrorism", "insurgency"]
    assert str(engagement.budget_usd) == "1500000.00"
    assert list(engagement.organizations.values_list("acronym", flat=True)) == ["ECOWAS"]
    assert {(p.partner.iso3, p.role, p.personnel) for p in engagement.participations.all()} == {
        ("CIV", "host", 400),
        ("USA", "lead", 600),
    }
    assert engagement.history.get(history_type="+").history_user == planner


@pytest.mark.parametrize(
    "overrides, participants, field_id, message",
    [
        ({"end_date": "2025-02-01"}, None, "id_end_date", "cannot be before the start date"),
        ({"budget_usd": "-5"}, None, "id_budget_usd", "cannot be negative"),
        ({"latitude": "91"}, None, "id_latitude", "between -90 and 90"),
        ({"longitude": "-181"}, None, "id_longitude", "between -180 and 180"),
        ({"latitude": ""}, None, "id_latitude", "both latitude and longitude"),
        ({"start_date": "2025-02-30"}, None, "id_start_date", "real date"),
        ({"start_date": "1850-01-01", "end_date": "1850-01-02"}, None, "id_start_date", "between 1900 and 2100"),
        ({"title": "   "}, None, "id_title", "required"),
        ({"engagement_type": "party"}, None, "id_engagement_type", "valid choice"),
        ({"host_country": "XXX"}, None, "id_host_country", "valid choice"),
        ({"series": "no-such-series"}, None, "id_series", "valid choice"),
        ({"organizations": ["NOPE"]}, None, "id_organizations", "valid choice"),
        ({"threat_focus": ["piracy"]}, None, "id_threat_focus", "valid choice"),
        ({"budget_usd": "lots"}, None, "id_budget_usd", "number"),
        ({}, [("USA", "lead", "10"), ("USA", "participant", "5")], "id_participants-1-partner", "already listed"),
        ({}, [("USA", "lead", "-3")], "id_participants-0-personnel", "cannot be negative"),
        ({}, [("USA", "lead", "many")], "id_participants-0-personnel", "whole number"),
        ({}, [("ZZZ", "lead", "3")], "id_participants-0-partner", "valid choice"),
        ({}, [("USA", "boss", "3")], "id_participants-0-role", "valid choice"),
        ({}, [("", "lead", "30")], "id_participants-0-partner", "required"),
    ],
)
def test_each_invalid_input_is_refused_beside_its_field_and_nothing_saved(
    client_for, planner, reference_data, overrides, participants, field_id, message
):
    data = form_data(participants=participants, **overrides) if participants else form_data(**overrides)
    response = client_for(planner).post("/engagements/new/", data)
    assert response.status_code == 200
    html = content(response)
    assert any(message in error for error in errors_for(html, field_id)), (field_id, errors_for(html, field_id))
    assert "Nothing was saved." in html
    assert not Engagement.objects.exists() and not Participation.objects.exists()


def test_failed_form_keeps_every_entered_value_including_added_rows(client_for, planner, reference_data):
    rows = [("CIV", "host", "400"), ("USA", "lead", "600"), ("SEN", "trainee", "35"), ("GHA", "observer", "-1")]
    data = form_data(participants=rows, spare_rows=0, end_date="2025-01-01", description="Keep me")
    html = content(client_for(planner).post("/engagements/new/", data))
    assert 'value="Flintlock 2025"' in html and "Keep me" in html and 'value="Abidjan"' in html
    assert 'value="2025-01-01"' in html and 'value="1500000"' in html
    assert 'value="ECOWAS" id="id_organizations_5" checked' in html or re.search(r'value="ECOWAS"[^>]*checked', html)
    assert re.search(r'value="insurgency"[^>]*checked', html)
    for index, (code, role, personnel) in enumerate(rows):
        row = html[html.index(f'name="participants-{index}-partner"') :]
        assert re.match(rf'[^<]*>.*?<option value="{code}" selected>', row, re.S)
        assert re.search(rf'name="participants-{index}-role"[^>]*>.*?<option value="{role}" selected>', html, re.S)
        assert re.search(rf'name="participants-{index}-personnel" value="{personnel}"', html)
    assert 'name="participants-TOTAL_FORMS" value="4"' in html
    assert errors_for(html, "id_participants-3-personnel") == ["Personnel cannot be negative."]
    # Every problem at once: the row's and the service's (end before start), though the row failed first.
    assert any("cannot be before the start date" in e for e in errors_for(html, "id_end_date"))
    assert not Engagement.objects.exists()


def test_form_without_javascript_has_spare_rows_and_remove_boxes(client_for, planner, reference_data):
    html = content(client_for(planner).get("/engagements/new/"))
    assert 'name="participants-TOTAL_FORMS" value="3"' in html
    assert html.count('name="participants-0-DELETE"') == 1 and 'name="participants-2-partner"' in html
    assert 'id="participant-template"' in html and "participants-__prefix__-partner" in html
    assert "js/participants.js" in html


def test_blank_rows_are_ignored_and_removed_rows_dropped(client_for, planner, reference_data):
    rows = [("CIV", "host", "400"), ("USA", "lead", "600", "remove"), ("", "participant", "0")]
    response = client_for(planner).post("/engagements/new/", form_data(participants=rows, spare_rows=2))
    assert response.status_code == 302
    assert list(Participation.objects.values_list("partner__iso3", flat=True)) == ["CIV"]


def test_edit_updates_through_the_service_and_records_history(client_for, planner, reference_data):
    engagement = create(planner)
    client = client_for(planner)
    page = content(client.get(f"/engagements/{engagement.pk}/edit/"))
    assert 'name="version" value="1"' in page and 'value="Flintlock 2025"' in page
    assert re.search(r'name="participants-1-partner"[^>]*>.*?<option value="USA" selected>', page, re.S)
    data = form_data(
        participants=[("CIV", "host", "450"), ("SEN", "participant", "90")],
        title="Flintlock 2025 revised",
        version="1",
        status="in_progress",  # planned to approved is four-eyes, never an edit
    )
    data["participants-INITIAL_FORMS"] = "2"
    response = client.post(f"/engagements/{engagement.pk}/edit/", data)
    assert response.status_code == 302
    engagement.refresh_from_db()
    assert (engagement.title, engagement.status, engagement.version) == ("Flintlock 2025 revised", "in_progress", 2)
    assert {(p.partner.iso3, p.personnel) for p in engagement.participations.all()} == {("CIV", 450), ("SEN", 90)}
    history = content(client.get(f"/engagements/{engagement.pk}/"))
    text = re.sub(r"<[^>]+>", "", history[history.index('id="history"') :])
    assert "Flintlock 2025 → Flintlock 2025 revised" in text and "Planned → In progress" in text
    assert "Participant United States deleted" in re.sub(r"\s+", " ", text)


def test_a_stale_edit_is_refused_with_a_clear_message(client_for, planner, make_user, reference_data):
    engagement = create(planner)
    services.engagement_update(
        engagement=engagement, updated_by=make_user("other", "planner"), title="Changed by other"
    )
    data = form_data(title="My change", version="1")
    html = content(client_for(planner).post(f"/engagements/{engagement.pk}/edit/", data))
    assert "Someone else saved this engagement while you were editing it" in html
    assert 'value="My change"' in html  # the user's input is kept
    assert "Start again from the current version" in html
    engagement.refresh_from_db()
    assert engagement.title == "Changed by other"


def test_edit_offers_only_allowed_statuses_and_refuses_others(client_for, planner, reference_data):
    engagement = create(planner, status="completed")
    client = client_for(planner)
    page = content(client.get(f"/engagements/{engagement.pk}/edit/"))
    status_select = page[page.index('name="status"') : page.index("</select>", page.index('name="status"'))]
    assert re.findall(r'<option value="([a-z_]+)"', status_select) == ["completed"]
    html = content(client.post(f"/engagements/{engagement.pk}/edit/", form_data(status="planned", version="1")))
    assert errors_for(html, "id_status")
    engagement.refresh_from_db()
    assert engagement.status == "completed" and engagement.version == 1


# --- status, after-action report, delete ----------------------------------------------------------------


def test_status_moves_forward_and_illegal_moves_are_refused(client_for, planner, reference_data):
    engagement = create_approved(planner)
    client = client_for(planner)
    response = client.post(
        f"/engagements/{engagement.pk}/status/",
        {"status": "in_progress", "version": str(engagement.version)},
        follow=True,
    )
    assert "Status changed to In progress." in content(response)
    engagement.refresh_from_db()
    assert engagement.status == "in_progress"
    response = client.post(f"/engagements/{engagement.pk}/status/", {"status": "planned"}, follow=True)
    assert "Cannot move from in progress to planned" in content(response)
    response = client.post(f"/engagements/{engagement.pk}/status/", {"status": "nonsense"}, follow=True)
    assert "Choose one of the statuses offered." in content(response)
    engagement.refresh_from_db()
    assert engagement.status == "in_progress"
    assert client.get(f"/engagements/{engagement.pk}/status/").status_code == 302  # no move asked
    assert "status/?status=cancelled" in content(client.get(f"/engagements/{engagement.pk}/"))
    services.after_action_submit(
        engagement=engagement,
        user=planner,
        summary="Cut short",
        interoperability_rating=2,
        capacity_rating=2,
        trust_rating=2,
    )
    html = content(client.get(f"/engagements/{engagement.pk}/"))
    assert 'name="status" value="completed"' in html and "status/?status=cancelled" not in html
    response = client.post(f"/engagements/{engagement.pk}/status/", {"status": "cancelled"}, follow=True)
    assert "it took place and cannot be cancelled" in content(response)


def test_status_change_with_a_stale_version_is_refused(client_for, planner, reference_data):
    engagement = create(planner)
    services.engagement_update(engagement=engagement, updated_by=planner, title="Renamed")
    response = client_for(planner).post(
        f"/engagements/{engagement.pk}/status/", {"status": "in_progress", "version": "1"}, follow=True
    )
    assert "Someone else saved this engagement" in content(response)
    engagement.refresh_from_db()
    assert engagement.status == "planned"


@pytest.mark.parametrize(
    "data, field_id, message",
    [
        ({"interoperability_rating": "7"}, "id_interoperability_rating", "Ratings go from 1"),
        ({"capacity_rating": "0"}, "id_capacity_rating", "Ratings go from 1"),
        ({"trust_rating": "x"}, "id_trust_rating", "whole number"),
        ({"trust_rating": ""}, "id_trust_rating", "required"),
        ({"summary": ""}, "id_summary", "required"),
    ],
)
def test_after_action_report_refuses_bad_input_beside_the_field(
    client_for, planner, reference_data, data, field_id, message
):
    engagement = create(planner, status="completed")
    payload = {"summary": "Done.", "interoperability_rating": "3", "capacity_rating": "4", "trust_rating": "5", **data}
    html = content(client_for(planner).post(f"/engagements/{engagement.pk}/after-action/", payload))
    assert any(message in e for e in errors_for(html, field_id)), errors_for(html, field_id)
    assert not AfterActionReport.objects.exists()


def test_after_action_report_submit_and_edit(client_for, planner, reference_data):
    engagement = create(planner, status="completed")
    client = client_for(planner)
    form = content(client.get(f"/engagements/{engagement.pk}/after-action/"))
    assert form.count('type="radio" name="trust_rating"') == 5
    payload = {"summary": "Done.", "interoperability_rating": "3", "capacity_rating": "4", "trust_rating": "5"}
    response = client.post(f"/engagements/{engagement.pk}/after-action/", {**payload, "lessons_learned": "Radios."})
    assert response.status_code == 302
    report = AfterActionReport.objects.get()
    assert (report.trust_rating, report.lessons_learned, report.submitted_by) == (5, "Radios.", planner)
    form = content(client.get(f"/engagements/{engagement.pk}/after-action/"))
    assert re.search(r'name="capacity_rating" value="4" checked', form)
    client.post(f"/engagements/{engagement.pk}/after-action/", {**payload, "trust_rating": "2"})
    report.refresh_from_db()
    assert report.trust_rating == 2 and report.history.count() == 2


def test_after_action_report_needs_an_engagement_under_way(client_for, planner, reference_data):
    engagement = create(planner, status="planned")
    client = client_for(planner)
    assert "once the engagement is in progress or completed" in content(
        client.get(f"/engagements/{engagement.pk}/after-action/")
    )
    payload = {"summary": "Done.", "interoperability_rating": "3", "capacity_rating": "4", "trust_rating": "5"}
    html = content(client.post(f"/engagements/{engagement.pk}/after-action/", payload))
    assert "needs the engagement to be in progress or completed" in html
    assert not AfterActionReport.objects.exists()


def test_delete_needs_a_reason_and_hides_the_engagement(client_for, planner, reference_data):
    engagement = create(planner)
    client = client_for(planner)
    assert "Reason for deleting" in content(client.get(f"/engagements/{engagement.pk}/delete/"))
    html = content(client.post(f"/engagements/{engagement.pk}/delete/", {"reason": "  "}))
    assert errors_for(html, "id_reason")
    engagement.refresh_from_db()
    assert engagement.deleted_at is None
    response = client.post(f"/engagements/{engagement.pk}/delete/", {"reason": "Entered twice"}, follow=True)
    assert response.redirect_chain[-1][0] == "/engagements/"
    assert "deleted" in content(response) and "0 engagements" in content(response)
    engagement.refresh_from_db()
    assert (engagement.deletion_reason, engagement.deleted_by) == ("Entered twice", planner)
    assert engagement.history.first().history_user == planner


# --- calendar -------------------------------------------------------------------------------------------


# The calendar's own tests are in test_calendar.py.


@pytest.mark.parametrize(
    ("first_day", "in_previous_grid"),
    [
        (datetime.date(2025, 10, 1), True),  # a Wednesday: September's grid ends with the week of Oct 1-5
        (datetime.date(2025, 9, 1), False),  # a Monday: August's grid ends on Sunday, Aug 31
    ],
)
def test_calendar_shows_the_next_months_first_days_in_its_trailing_week(
    client_for, planner, reference_data, first_day, in_previous_grid
):
    """Weeks run Monday to Sunday, so a month's grid shows the next month's first days unless it starts on
    a Monday. Fixed months, so the test does not depend on the day it runs."""
    engagement = create(
        planner, title="First days", start_date=first_day, end_date=first_day + datetime.timedelta(days=1)
    )
    previous = (first_day - datetime.timedelta(days=1)).strftime("%Y-%m")
    html = content(client_for(planner).get("/engagements/calendar/", {"month": previous}))
    month_grid = html[html.index('<div class="cal-month') : html.index('<p class="legend')]
    assert (f'href="/engagements/{engagement.pk}/"' in month_grid) is in_previous_grid


@pytest.mark.parametrize("month", ["2025-13", "abc", "0-1", "99999-01", ""])
def test_calendar_survives_bad_months(client_for, viewer, reference_data, month):
    assert client_for(viewer).get("/engagements/calendar/", {"month": month}).status_code == 200


@pytest.mark.parametrize("week", ["2025-13-01", "abc", "0001-01-01", "9999-12-31", ""])
def test_calendar_survives_bad_weeks(client_for, viewer, reference_data, week):
    assert client_for(viewer).get("/engagements/calendar/", {"layout": "week", "week": week}).status_code == 200


def test_calendar_day_overflow_links_to_the_list(client_for, planner, reference_data):
    for n in range(6):
        EngagementFactory(title=f"Busy {n}", start_date=D(2025, 5, 5), end_date=D(2025, 5, 6))
    html = content(client_for(planner).get("/engagements/calendar/", {"month": "2025-05"}))
    assert "+3 more" in html  # three lanes drawn
    assert "start_before=2025-05-05&end_after=2025-05-05" in html


# --- series ---------------------------------------------------------------------------------------------


def test_series_pages_compare_years(client_for, viewer, reference_data, django_assert_max_num_queries):
    series = ExerciseSeriesFactory(name="African Lion", slug="african-lion")
    ExerciseSeriesFactory(name="Flintlock", slug="flintlock")
    # 2023: one iteration, USA 100 + MAR 50, ratings 4/3/5.
    e2023 = EngagementFactory(series=series, title="African Lion 2023", start_date=D(2023, 6, 1), status="completed")
    ParticipationFactory(engagement=e2023, partner=partner("USA"), personnel=100)
    ParticipationFactory(engagement=e2023, partner=partner("MAR"), personnel=50)
    AfterActionReportFactory(engagement=e2023, interoperability_rating=4, capacity_rating=3, trust_rating=5)
    # 2024: two iterations; partners USA, MAR, TUN (3 distinct); personnel 200+10+30 = 240; ratings (2+4)/2 = 3.
    a = EngagementFactory(series=series, title="African Lion 2024 A", start_date=D(2024, 5, 1), status="completed")
    b = EngagementFactory(series=series, title="African Lion 2024 B", start_date=D(2024, 9, 1), status="completed")
    ParticipationFactory(engagement=a, partner=partner("USA"), personnel=200)
    ParticipationFactory(engagement=a, partner=partner("MAR"), personnel=10)
    ParticipationFactory(engagement=b, partner=partner("TUN"), personnel=30)
    AfterActionReportFactory(engagement=a, interoperability_rating=2, capacity_rating=2, trust_rating=2)
    AfterActionReportFactory(engagement=b, interoperability_rating=4, capacity_rating=5, trust_rating=3)
    # A restricted 2025 iteration: invisible to viewers, in counts too.
    EngagementFactory(series=series, title="African Lion 2025", start_date=D(2025, 6, 1), sensitivity="restricted")
    client = client_for(viewer)
    listing = content(client.get("/engagements/series/"))
    assert re.search(
        r"African Lion</strong></a></td>\s*<td>—</td>\s*<td class=\"num\">3</td>\s*<td>2023–2024</td>", listing
    )
    assert re.search(r"Flintlock</strong></a></td>\s*<td>—</td>\s*<td class=\"num\">0</td>", listing)
    with django_assert_max_num_queries(10):
        html = content(client.get("/engagements/series/african-lion/"))
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(\d{4})</th>(.*?)</tr>", html, re.S)
    cells = {year: re.findall(r'<td class="num">([^<]*)</td>', body) for year, body in rows}
    assert cells["2023"] == ["1", "2", "150", "4.0", "3.0", "5.0", "1/1"]
    assert cells["2024"] == ["2", "3", "240", "3.0", "3.5", "2.5", "2/2"]
    assert "2025" not in cells and "African Lion 2025" not in html
    assert client.get("/engagements/series/no-such/").status_code == 404


# --- home -----------------------------------------------------------------------------------------------


def test_planner_home_lists_overdue_reports_and_recent_engagements(client_for, planner, viewer, reference_data):
    today = timezone.localdate()
    overdue = create(
        planner,
        title="Overdue one",
        status="completed",
        start_date=today - datetime.timedelta(days=60),
        end_date=today - datetime.timedelta(days=45),
    )
    recent_end = create(
        planner,
        title="Just ended",
        status="completed",
        start_date=today - datetime.timedelta(days=20),
        end_date=today - datetime.timedelta(days=10),
        host_country="KEN",
        participants=[],
    )
    html = content(client_for(planner).get("/"))
    panel = html[html.index("Overdue after-action reports") : html.index("Recently changed engagements")]
    assert overdue.reference in panel and recent_end.reference not in panel
    assert "AAR overdue 45 d" in panel
    assert recent_end.reference in html[html.index("Recently changed engagements") :]
    viewer_home = content(client_for(viewer).get("/"))
    assert "Overdue after-action reports" not in viewer_home


def test_an_out_of_range_coordinate_gets_one_message_not_two(client_for, planner, reference_data):
    html = content(client_for(planner).post("/engagements/new/", form_data(latitude="95")))
    assert errors_for(html, "id_latitude") == ["Latitude must be between -90 and 90."]
    assert errors_for(html, "id_longitude") == []


def test_detail_queries_do_not_grow_with_participants(
    client_for, planner, reference_data, django_assert_max_num_queries
):
    def queries_for(codes):
        engagement = create(
            planner,
            title=f"Exercise with {len(codes)}",
            status="completed",
            participants=[{"partner": code, "personnel": 5} for code in codes],
            start_date=D(2020 + len(codes) % 5, 1, 1),
            end_date=D(2020 + len(codes) % 5, 1, 5),
        )
        services.after_action_submit(
            engagement=engagement,
            user=planner,
            summary="ok",
            interoperability_rating=3,
            capacity_rating=3,
            trust_rating=3,
        )
        client = client_for(planner)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/engagements/{engagement.pk}/").status_code == 200
        return len(captured)

    assert queries_for(["FRA", "USA"]) == queries_for(["FRA", "USA", "GBR", "DEU", "ITA", "ESP", "SEN", "GHA", "KEN"])
