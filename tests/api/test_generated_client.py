"""The schema that generated clients trust: /api/schema/ is valid OpenAPI 3.0 to a strict validator, and a
Python client generated from it by openapi-python-client imports whole and works against a live server.

The generator and the validator are pinned in requirements-dev.txt; nothing here uses the network beyond the
loopback test server. The generator's configuration (no post hooks) is tests/api/generated_client/.
"""

from __future__ import annotations

import datetime
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from openapi_spec_validator import OpenAPIV30SpecValidator, validate

from core.services import api_token_create

CONFIG = Path(__file__).parent / "generated_client" / "openapi-python-client.yml"
PACKAGE = "engagement_tracker_client"


def served_schema(client, user) -> dict:
    client.force_login(user)
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.mark.django_db
def test_the_served_schema_is_strict_openapi_3_0(client, viewer):
    schema = served_schema(client, viewer)
    assert schema["openapi"].startswith("3.0.")
    validate(schema, cls=OpenAPIV30SpecValidator)  # raises with the first problem found


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory, django_db_blocker):
    """Generate the client once per module from the schema the app serves, and import every module of it."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    workdir = tmp_path_factory.mktemp("generated")
    with django_db_blocker.unblock():
        reader, _ = get_user_model().objects.get_or_create(username="schema-reader")
        schema = served_schema(Client(), reader)
        reader.delete()
    (workdir / "schema.json").write_text(json.dumps(schema))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(workdir / "schema.json"),
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(workdir / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator warns about every part of the schema it could not turn into code: there must be none.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(workdir))
    try:
        package = importlib.import_module(PACKAGE)
        failures, modules = {}, {}
        for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
            try:
                modules[info.name] = importlib.import_module(info.name)
            except Exception as exc:  # noqa: BLE001 - every failing module is reported at once
                failures[info.name] = repr(exc)
        yield schema, modules, failures
    finally:
        sys.path.remove(str(workdir))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_every_generated_module_imports(generated_client):
    schema, modules, failures = generated_client
    assert failures == {}
    operations = [name for name in modules if ".api." in name and name.count(".") == 3]
    # One module per operation of the schema: none was left out.
    assert len(operations) == sum(
        method in ("get", "post", "put", "patch", "delete") for path in schema["paths"].values() for method in path
    )
    for name in operations:
        assert hasattr(modules[name], "sync_detailed"), name


def make_score(partner_code: str, quarter_start: datetime.date):
    from assessments.models import PartnerScore
    from assessments.services import assessment_run_request
    from assessments.services.runs import scoring_model_active
    from partners.models import PartnerNation

    run = assessment_run_request(trigger="manual", periods=["2025-Q3"], enqueue=False)
    return PartnerScore.objects.create(
        partner=PartnerNation.objects.get(iso3=partner_code),
        period=quarter_start,
        period_end=datetime.date(2025, 9, 30),
        scoring_model=scoring_model_active(),
        overall=61.5,
        run=run,
        computed_at=datetime.datetime(2025, 10, 1, tzinfo=datetime.UTC),
    )


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_works_against_a_live_server(generated_client, live_server, make_user, reference_data):
    _schema, modules, failures = generated_client
    assert failures == {}

    def api(name):
        return modules[f"{PACKAGE}.api.{name}"]

    models = modules[f"{PACKAGE}.models"]
    client_module = modules[f"{PACKAGE}.client"]
    planner = make_user("generated-planner", "planner")
    token = api_token_create(user=planner)[1]
    client = client_module.AuthenticatedClient(base_url=live_server.url, token=token, prefix="Token")
    started = timezone.now()

    # Create engagements with participants (one with an Idempotency-Key sent twice: one row).
    created = []
    for n, (host, partners, status) in enumerate(
        [
            ("GHA", ["GHA", "SEN"], "planned"),
            ("SEN", ["SEN"], "in_progress"),  # approved is four-eyes: a planner's new one is not approved
            ("GHA", ["GHA", "CIV"], "planned"),
            ("CIV", ["CIV", "SEN"], "in_progress"),
            ("SEN", ["SEN", "GHA"], "planned"),
        ]
    ):
        body = models.EngagementRequest(
            title=f"Generated client {n}",
            engagement_type=models.EngagementTypeEnum("exercise"),
            domain=models.DomainEnum("maritime"),
            start_date=datetime.date(2026, 3, 1 + n),
            end_date=datetime.date(2026, 3, 10 + n),
            host_country=host,
            status=models.EngagementStatusEnum(status),
            participants=[
                models.ParticipantRequest(
                    partner=code, role=models.ParticipantRoleEnum("lead" if i == 0 else "participant")
                )
                for i, code in enumerate(partners)
            ],
        )
        response = api("engagements.v1_engagements_create").sync_detailed(
            client=client, body=body, idempotency_key=f"gen-{n}"
        )
        assert response.status_code == 201, response.content
        assert response.headers["Location"].endswith(f"/api/v1/engagements/{response.parsed.id}/")
        engagement = response.parsed
        assert isinstance(engagement, models.Engagement)
        assert sorted(p.partner for p in engagement.participants) == sorted(partners)
        assert engagement.version >= 1 and engagement.status.value == status
        created.append(engagement)
    again = api("engagements.v1_engagements_create").sync_detailed(client=client, body=body, idempotency_key="gen-4")
    assert again.status_code == 201 and again.parsed.id == created[-1].id

    # Read one back, then change it with the version (and ETag) just read.
    read = api("engagements.v1_engagements_retrieve").sync_detailed(client=client, id=created[0].id)
    assert read.status_code == 200 and read.headers["ETag"]
    patch = models.PatchedEngagementRequest(title="Generated client 0 (renamed)", version=read.parsed.version)
    changed = api("engagements.v1_engagements_partial_update").sync_detailed(
        client=client, id=created[0].id, body=patch
    )
    assert changed.status_code == 200 and changed.parsed.title.endswith("(renamed)")
    stale = api("engagements.v1_engagements_partial_update").sync_detailed(
        client=client, id=created[0].id, body=models.PatchedEngagementRequest(title="x", version=read.parsed.version)
    )
    assert stale.status_code == 409 and isinstance(stale.parsed, models.Error)

    # Filters: several values of a filter (sent repeated) and two ordering keys.
    ordering = [models.V1EngagementsListOrderingItem("status"), models.V1EngagementsListOrderingItem("-date")]
    listed = api("engagements.v1_engagements_list").sync_detailed(
        client=client,
        partner=["GHA", "CIV"],
        status=[models.V1EngagementsListStatusItem("planned"), models.V1EngagementsListStatusItem("in_progress")],
        ordering=ordering,
    )
    assert listed.status_code == 200
    expected = sorted(
        (e for e in created if {"GHA", "CIV"} & {p.partner for p in e.participants}),
        key=lambda e: e.start_date,
        reverse=True,
    )
    expected = sorted(expected, key=lambda e: e.status.value)  # status sorts by its code
    assert [e.id for e in listed.parsed.results] == [e.id for e in expected]

    # Scores of one quarter, by its YYYY-Qn name.
    make_score("GHA", datetime.date(2025, 7, 1))
    scores = api("assessments.v1_assessments_scores_list").sync_detailed(
        client=client, period="2025-Q3", partner=["GHA"]
    )
    assert scores.status_code == 200, scores.content
    assert [(row.partner, row.period) for row in scores.parsed.results] == [("GHA", "2025-Q3")]
    wrong = api("assessments.v1_assessments_scores_list").sync_detailed(client=client, period="2025-07-01")
    assert wrong.status_code == 400 and isinstance(wrong.parsed, models.Error)

    # Page through everything, two rows a page.
    seen, page = [], 1
    while True:
        answer = api("engagements.v1_engagements_list").sync_detailed(client=client, page=page, page_size=2)
        assert answer.status_code == 200
        seen += [e.id for e in answer.parsed.results]
        if not answer.parsed.next_:
            break
        page += 1
    assert sorted(seen) == sorted(e.id for e in created) and answer.parsed.count == len(created)

    # The change feed: since when we started, then by cursor; every change once.
    feed = api("engagements.v1_changes_list")
    answer = feed.sync_detailed(client=client, since=started, page_size=2)
    rows = list(answer.parsed.results)
    while answer.parsed.next_:
        answer = feed.sync_detailed(client=client, cursor=answer.parsed.next_cursor, page_size=2)
        assert answer.status_code == 200
        rows += answer.parsed.results
    assert [(row.id, row.action.value) for row in rows] == [(e.id, "created") for e in created] + [
        (created[0].id, "updated")
    ]
    assert all(row.user == planner.username for row in rows)
    quiet = feed.sync_detailed(client=client, cursor=answer.parsed.next_cursor)
    assert quiet.status_code == 200 and quiet.parsed.results == []
