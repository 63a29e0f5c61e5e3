"""Engagements serve objectives: set on the engagement form and API (ids), checked with the other input,
listed on the objective's page with ratings and progress, and the partner page's unserved objectives."""

import ast
import datetime
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from assessments.models import EngagementObjective
from tests.assessments.factories import IndicatorFactory, MeasurementFactory, ObjectiveFactory, make_engagement
from tests.engagements.factories import default_unit, partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit_planner(make_user):
    user = make_user("planner-obj", "planner")
    user.units.add(default_unit())
    return user


def _payload(**extra):
    return {
        "title": "Coastal drill",
        "engagement_type": "exercise",
        "domain": "maritime",
        "status": "planned",
        "start_date": "2026-03-02",
        "end_date": "2026-03-06",
        "host_country": "KEN",
        "participants": [{"partner": "KEN"}, {"partner": "TZA"}],
        **extra,
    }


def test_api_links_objectives_of_participants_and_refuses_the_others_all_at_once(unit_planner):
    ken, tza, sen = (
        ObjectiveFactory(partner=partner("KEN")),
        ObjectiveFactory(partner=partner("TZA")),
        ObjectiveFactory(partner=partner("SEN")),
    )
    client = APIClient()
    client.force_authenticate(unit_planner)
    bad = client.post(
        "/api/v1/engagements/", _payload(objectives=[ken.pk, sen.pk, 999999], end_date="2026-03-01"), format="json"
    )
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert "end_date" in errors  # every problem at once, the objectives' with the others
    assert len(errors["objectives"]) == 2
    assert "Senegal" in errors["objectives"][0] and "999999" in errors["objectives"][1]
    assert not EngagementObjective.objects.exists()

    created = client.post("/api/v1/engagements/", _payload(objectives=[ken.pk, tza.pk]), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["objectives"] == sorted([ken.pk, tza.pk])
    pk = created.json()["id"]
    assert client.get(f"/api/v1/engagements/{pk}/").json()["objectives"] == sorted([ken.pk, tza.pk])
    # A participant leaves: its objective is no longer served; the other stays.
    changed = client.patch(f"/api/v1/engagements/{pk}/", {"participants": [{"partner": "KEN"}]}, format="json")
    assert changed.status_code == 200 and changed.json()["objectives"] == [ken.pk]
    assert client.patch(f"/api/v1/engagements/{pk}/", {"objectives": [tza.pk]}, format="json").status_code == 400
    assert client.patch(f"/api/v1/engagements/{pk}/", {"objectives": []}, format="json").json()["objectives"] == []


def test_api_list_reads_objectives_in_constant_queries(unit_planner, django_assert_max_num_queries):
    objective = ObjectiveFactory(partner=partner("KEN"))
    client = APIClient()
    client.force_authenticate(unit_planner)

    def list_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            rows = client.get("/api/v1/engagements/?page_size=100").json()["results"]
        return [q["sql"] for q in captured.captured_queries], rows

    list_queries()  # the user's permissions, cached from then on
    for _ in range(2):
        engagement = make_engagement(["KEN"], datetime.date(2026, 1, 5), datetime.date(2026, 1, 9))
        EngagementObjective.objects.create(engagement=engagement, objective=objective)
    few, rows = list_queries()
    assert all(row["objectives"] == [objective.pk] for row in rows)
    for _ in range(8):
        engagement = make_engagement(["KEN"], datetime.date(2026, 1, 5), datetime.date(2026, 1, 9))
        EngagementObjective.objects.create(engagement=engagement, objective=objective)
    many, rows = list_queries()
    assert len(rows) == 10 and len(many) == len(few), "\n".join(many)


def test_the_form_offers_objectives_and_shows_the_refusal_beside_the_field(client, unit_planner):
    ken, sen = (
        ObjectiveFactory(partner=partner("KEN"), title="Patrol the coast"),
        ObjectiveFactory(partner=partner("SEN")),
    )
    client.force_login(unit_planner)
    page = client.get(reverse("engagements:create")).content.decode()
    assert "Patrol the coast" in page and 'name="objectives"' in page
    data = {
        "title": "Coastal drill",
        "engagement_type": "exercise",
        "domain": "maritime",
        "status": "planned",
        "start_date": "2026-03-02",
        "end_date": "2026-03-06",
        "host_country": "KEN",
        "sensitivity": "unclassified",
        "owner_unit": default_unit().code,
        "participants-TOTAL_FORMS": "1",
        "participants-INITIAL_FORMS": "0",
        "participants-0-partner": "KEN",
        "participants-0-role": "participant",
        "participants-0-personnel": "10",
        "objectives": [str(ken.pk), str(sen.pk)],
    }
    refused = client.post(reverse("engagements:create"), data)
    assert refused.status_code == 200
    assert 'data-for="id_objectives"' in refused.content.decode()
    data["objectives"] = [str(ken.pk)]
    saved = client.post(reverse("engagements:create"), data)
    assert saved.status_code == 302, [line for line in saved.content.decode().splitlines() if "error" in line]
    link = EngagementObjective.objects.get()
    assert link.objective == ken and link.linked_by == unit_planner
    edit = client.get(reverse("engagements:edit", args=[link.engagement_id])).content.decode()
    assert f'<option value="{ken.pk}" selected>' in edit


def test_objective_page_lists_served_engagements_with_ratings_and_progress(client, make_user):
    objective = ObjectiveFactory(partner=partner("KEN"))
    indicator = IndicatorFactory(objective=objective, baseline_value=0, target_value=10)
    MeasurementFactory(indicator=indicator, date=datetime.date(2025, 1, 1), value=2)
    MeasurementFactory(indicator=indicator, date=datetime.date(2025, 6, 1), value=6)
    early = make_engagement(
        ["KEN"], datetime.date(2025, 2, 1), datetime.date(2025, 2, 10), ratings=(4, 3, 5), title="Early drill"
    )
    secret = make_engagement(
        ["KEN"], datetime.date(2025, 7, 1), datetime.date(2025, 7, 5), title="Hidden drill", sensitivity="restricted"
    )
    for engagement in (early, secret):
        EngagementObjective.objects.create(engagement=engagement, objective=objective)
    client.force_login(make_user("an", "analyst"))
    page = client.get(reverse("assessments:objective", args=[objective.pk])).content.decode()
    title = page[page.index("<title>") : page.index("</title>")]
    assert "<" not in title[len("<title>") :] and page.count('id="served-by"') == 1  # the table once, in the body
    section = page[page.index('id="served-by"') :]
    assert "Early drill" in section and "Hidden drill" in section
    # Progress at the early drill's end (2025-02-10): the 2025-01-01 value 2 of 0 -> 10 is 20 %.
    assert "20" in section[section.index("Early drill") : section.index("Early drill") + 1500]
    client.force_login(make_user("vi", "viewer"))
    page = client.get(reverse("assessments:objective", args=[objective.pk])).content.decode()
    assert "Early drill" in page and "Hidden drill" not in page and secret.reference not in page


def test_partner_page_shows_objectives_no_engagement_served_in_the_window(client, make_user):
    served, idle = (
        ObjectiveFactory(partner=partner("KEN"), title="Served one"),
        ObjectiveFactory(partner=partner("KEN"), title="Idle one"),
    )
    only_secretly = ObjectiveFactory(partner=partner("KEN"), title="Secretly served")
    engagement = make_engagement(["KEN"], datetime.date(2025, 2, 1), datetime.date(2025, 2, 10))
    EngagementObjective.objects.create(engagement=engagement, objective=served)
    secret = make_engagement(["KEN"], datetime.date(2025, 2, 1), datetime.date(2025, 2, 10), sensitivity="restricted")
    EngagementObjective.objects.create(engagement=secret, objective=only_secretly)
    client.force_login(make_user("an", "analyst"))
    page = client.get(reverse("assessments:partner", args=["KEN"]) + "?period=2025-Q1").content.decode()
    unserved = page[page.index('id="unserved-objectives"') :]
    unserved = unserved[: unserved.index("</div>")]
    assert "Idle one" in unserved and "Served one" not in unserved and "Secretly served" not in unserved
    client.force_login(make_user("vi", "viewer"))
    page = client.get(reverse("assessments:partner", args=["KEN"]) + "?period=2025-Q1").content.decode()
    unserved = page[page.index('id="unserved-objectives"') :]
    assert "Secretly served" in unserved[: unserved.index("</div>")]  # restricted means invisible
    assert idle.pk


def test_the_exchange_file_carries_the_objectives_and_reimports_unchanged(unit_planner, reference_data):
    """The ``objectives`` column (ids separated by ";"), filled through the extension: export, re-import
    unchanged, change it, refuse another partner's objective beside the column, create with objectives."""
    from engagements import exchange
    from engagements.models import Engagement
    from tests.engagements import test_imports as files

    ken, tza, sen = (ObjectiveFactory(partner=partner(code)) for code in ("KEN", "TZA", "SEN"))
    engagement = make_engagement(["KEN", "TZA"], datetime.date(2025, 2, 1), datetime.date(2025, 2, 10))
    for objective in (tza, ken):
        EngagementObjective.objects.create(engagement=engagement, objective=objective)
    assert "objectives" in exchange.COLUMNS
    exported = files.export_csv()
    row = dict(zip(exchange.COLUMNS, exchange.rows_by_id([engagement.pk])[engagement.pk], strict=True))
    assert row["objectives"] == f"{min(ken.pk, tza.pk)};{max(ken.pk, tza.pk)}"
    assert row["objectives"] in exported

    again = files.run(io.BytesIO(exported.encode()), unit_planner, dry_run=False)
    assert again.ok and (again.unchanged, again.to_update, again.to_create) == (1, 0, 0)

    refused = files.run(files.csv_file([row | {"objectives": f"{ken.pk};{sen.pk}"}]), unit_planner, dry_run=False)
    assert [(e.line, e.column) for e in refused.errors] == [(2, "objectives")]
    assert "Senegal" in refused.errors[0].message and not refused.applied
    assert set(engagement.objective_links.values_list("objective_id", flat=True)) == {ken.pk, tza.pk}

    changed = files.run(files.csv_file([row | {"objectives": str(ken.pk)}]), unit_planner, dry_run=False)
    assert changed.applied and changed.to_update == 1
    assert list(engagement.objective_links.values_list("objective_id", flat=True)) == [ken.pk]

    new = files.good_row(
        title="New with objectives", participants="KEN:host:10;TZA:participant:5", objectives=f"{tza.pk}"
    )
    created = files.run(files.csv_file([new]), unit_planner, dry_run=False)
    assert created.applied and created.to_create == 1, [e.as_dict() for e in created.errors]
    made = Engagement.objects.get(title="New with objectives")
    assert list(made.objective_links.values_list("objective_id", flat=True)) == [tza.pk]
    # A file without the column leaves the links alone.
    without = {c: v for c, v in row.items() if c != "objectives"} | {"title": "Renamed"}
    kept = files.run(
        files.csv_file([without], columns=[c for c in exchange.COLUMNS if c != "objectives"]),
        unit_planner,
        dry_run=False,
    )
    assert kept.applied and list(engagement.objective_links.values_list("objective_id", flat=True)) == [ken.pk]


def test_the_bulk_create_links_objectives_and_refuses_the_others(unit_planner):
    ken, sen = ObjectiveFactory(partner=partner("KEN")), ObjectiveFactory(partner=partner("SEN"))
    client = APIClient()
    client.force_authenticate(unit_planner)
    bad = client.post("/api/v1/engagements/bulk/", [_payload(), _payload(objectives=[sen.pk])], format="json")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["[1].objectives"]
    made = client.post("/api/v1/engagements/bulk/", [_payload(objectives=[ken.pk]), _payload()], format="json")
    assert made.status_code == 201, made.content
    assert [row["objectives"] for row in made.json()["results"]] == [[ken.pk], []]
    assert EngagementObjective.objects.get().linked_by == unit_planner


def test_the_engagement_page_shows_the_objectives_it_serves(client, make_user):
    ken, tza = (
        ObjectiveFactory(partner=partner("KEN"), title="Coastal patrols"),
        ObjectiveFactory(partner=partner("TZA"), title="Port security"),
    )
    ObjectiveFactory(partner=partner("KEN"), title="Not served")
    engagement = make_engagement(["KEN", "TZA"], datetime.date(2025, 2, 1), datetime.date(2025, 2, 10))
    EngagementObjective.objects.create(engagement=engagement, objective=ken)
    secret = make_engagement(["TZA"], datetime.date(2025, 2, 1), datetime.date(2025, 2, 10), sensitivity="restricted")
    EngagementObjective.objects.create(engagement=secret, objective=tza)
    client.force_login(make_user("vi", "viewer"))
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    panel = page[page.index('id="objectives"') :]
    panel = panel[: panel.index("</section>")]
    assert "Coastal patrols" in panel and reverse("assessments:objective", args=[ken.pk]) in panel
    assert "Port security" not in panel and "Not served" not in panel
    assert client.get(f"/engagements/{secret.pk}/").status_code == 404  # restricted means invisible
    client.force_login(make_user("an", "analyst"))
    page = client.get(f"/engagements/{secret.pk}/").content.decode()
    assert "Port security" in page[page.index('id="objectives"') :]
    unlinked = make_engagement(["KEN"], datetime.date(2025, 3, 1), datetime.date(2025, 3, 2))
    page = client.get(f"/engagements/{unlinked.pk}/").content.decode()
    assert "not linked to any objective" in page


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "app, forbidden",
    [("engagements", ("assessments", "notifications", "webhooks")), ("assessments", ("notifications", "webhooks"))],
)
def test_dependencies_point_one_way(app, forbidden):
    """CONVENTIONS 11: engagements never imports assessments (nor the apps that listen to it)."""
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)} imports {name}"
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in forbidden
    ]
    assert offenders == []
