"""The OpenAPI schema: valid without warnings, and it holds the contract's paths and field names."""

import io

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_spectacular_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stdout=io.StringIO())
    assert yaml.safe_load(out.read_text())["openapi"].startswith("3.")


CONTRACT_PATHS = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/auth/tokens/": {"get"},
    "/api/v1/auth/tokens/{id}/": {"delete"},
    "/api/v1/partners/": {"get"},
    "/api/v1/partners/{iso3}/": {"get"},
    "/api/v1/organizations/": {"get"},
    "/api/v1/organizations/{acronym}/": {"get"},
    "/api/v1/organizations/{acronym}/members/": {"get"},
    "/api/v1/engagements/": {"get", "post"},
    "/api/v1/engagements/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/engagements/{id}/status/": {"post"},
    "/api/v1/engagements/{id}/after-action/": {"put", "post"},
    "/api/v1/series/": {"get", "post"},
    "/api/v1/series/{slug}/": {"get"},
    "/api/v1/changes/": {"get"},
    "/api/v1/engagements/import/": {"post"},
    "/api/v1/assessments/scores/": {"get"},
    "/api/v1/assessments/scores/{iso3}/{period}/explain/": {"get"},
    "/api/v1/assessments/runs/": {"get", "post"},
    "/api/v1/assessments/runs/{id}/": {"get"},
    "/api/v1/assessments/objectives/": {"get", "post"},
    "/api/v1/assessments/objectives/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/assessments/indicators/": {"get", "post"},
    "/api/v1/assessments/indicators/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/assessments/measurements/": {"get", "post"},
    "/api/v1/assessments/measurements/{id}/": {"get", "put", "patch", "delete"},
}


def test_score_rows_have_the_contracts_fields(schema):
    names = {c for c in schema["components"]["schemas"] if "Score" in c and "Paginated" not in c}
    row = next(
        schema["components"]["schemas"][n]["properties"]
        for n in sorted(names)
        if "partner" in schema["components"]["schemas"][n].get("properties", {})
    )
    assert {
        "partner",
        "period",
        "overall",
        "activity",
        "interoperability",
        "capacity",
        "trust",
        "continuity",
        "multilateral",
        "objectives",
        "engagement_count",
        "delta_overall",
        "scoring_model",
        "run",
        "computed_at",
    } <= set(row)
    filters = {p["name"] for p in schema["paths"]["/api/v1/assessments/scores/"]["get"]["parameters"]}
    assert {"partner", "period", "region", "organization"} <= filters


def test_contract_paths_and_methods(schema):
    for path, methods in CONTRACT_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), (path, set(schema["paths"][path]))


def test_tokens_are_documented_with_both_schemes_and_typed_bodies(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {**schemes["tokenAuth"], "type": "apiKey", "in": "header", "name": "Authorization"}
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert {"tokenAuth": []} in schema["paths"]["/api/v1/partners/"]["get"]["security"]
    assert {"bearerAuth": []} in schema["paths"]["/api/v1/partners/"]["get"]["security"]
    obtain = schema["paths"]["/api/v1/auth/token/"]["post"]
    request = obtain["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"username", "password", "name", "expires_in_days"} <= set(component(schema, request)["properties"])
    answer = obtain["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"token", "expires_at"} <= set(component(schema, answer)["required"])
    listed = schema["paths"]["/api/v1/auth/tokens/"]["get"]["responses"]["200"]["content"]["application/json"]
    row = component(schema, listed["schema"]["$ref"].rsplit("/", 1)[-1])["properties"]["results"]["items"]["$ref"]
    assert set(component(schema, row.rsplit("/", 1)[-1])["properties"]) == {
        "id",
        "name",
        "created",
        "expires_at",
        "last_used",
    }


def component(schema, name):
    return schema["components"]["schemas"][name]


def test_engagement_fields_are_the_contracts(schema):
    engagement = component(schema, "Engagement")["properties"]
    assert set(engagement) == {
        "id",
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
        "threat_focus",
        "description",
        "budget_usd",
        "funding_source",
        "sensitivity",
        "series",
        "owner_unit",
        "point_of_contact",
        "participants",
        "organizations",
        "after_action",
        "objectives",  # filled by the assessments app (engagements/extensions.py)
        "created_at",
        "updated_at",
        "version",
        "warnings",
    }
    request = component(schema, "EngagementRequest")
    assert set(request["required"]) == {"title", "engagement_type", "domain", "start_date", "end_date", "host_country"}
    assert {"id", "reference", "created_at", "updated_at", "warnings"}.isdisjoint(request["properties"])
    assert set(component(schema, "Participant")["properties"]) == {"partner", "role", "personnel"}
    assert set(component(schema, "AfterAction")["properties"]) == {
        "summary",
        "interoperability_rating",
        "capacity_rating",
        "trust_rating",
        "lessons_learned",
        "recommendations",
        "submitted_by",
        "submitted_at",
    }
    assert set(component(schema, "Change")["properties"]) == {"id", "reference", "action", "time", "user"}
    assert component(schema, "ChangeActionEnum")["enum"] == ["created", "updated", "deleted", "withdrawn"]


def test_enums_are_documented(schema):
    assert component(schema, "EngagementStatusEnum")["enum"] == [
        "planned",
        "approved",
        "in_progress",
        "completed",
        "cancelled",
    ]
    assert "port_visit" in component(schema, "EngagementTypeEnum")["enum"]
    assert component(schema, "DomainEnum")["enum"] == ["land", "maritime", "air", "cyber", "space", "joint"]
    assert "disaster_response" in component(schema, "ThreatFocusEnum")["enum"]
    assert component(schema, "ParticipantRoleEnum")["enum"][0] == "lead"


def test_engagement_filters_are_documented(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/engagements/"]["get"]["parameters"]}
    assert {
        "engagement_type",
        "status",
        "domain",
        "partner",
        "organization",
        "host_country",
        "series",
        "start_after",
        "start_before",
        "q",
        "ordering",
        "page",
        "page_size",
    } <= names
    feed = {p["name"]: p for p in schema["paths"]["/api/v1/changes/"]["get"]["parameters"]}
    # since or cursor (the next_cursor of the last answer): one of them is needed.
    assert feed["since"]["schema"]["format"] == "date-time" and feed["cursor"]["schema"]["type"] == "string"
    assert "page" not in feed
    answer = schema["paths"]["/api/v1/changes/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "next_cursor" in component(schema, answer["$ref"].rsplit("/", 1)[-1])["required"]


def test_every_operation_documents_its_errors_and_examples(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "404", "429"} <= codes, (method, path, codes)
            if operation.get("security") != [{}] and path != "/api/v1/auth/token/":
                assert {"401", "403"} <= codes, (method, path)
            error = operation["responses"]["429"]
            assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            assert "Retry-After" in error["headers"]
            for code, response in operation["responses"].items():
                body = response.get("content", {}).get("application/json")
                assert body is None or body.get("examples"), ("no example", method, path, code)
            request = operation.get("requestBody", {}).get("content", {}).get("application/json")
            assert request is None or request.get("examples"), ("no request example", method, path)
    create = schema["paths"]["/api/v1/engagements/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["examples"]
    assert create["responses"]["201"]["content"]["application/json"]["examples"]
    assert "409" in schema["paths"]["/api/v1/engagements/{id}/"]["patch"]["responses"]


@pytest.mark.django_db
def test_schema_and_docs_are_served_from_the_app(client, viewer):
    client.force_login(viewer)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"drf_spectacular_sidecar" in docs.content
    redoc = client.get("/api/redoc/")
    # Our copy of the sidecar's Redoc, without the logo it would fetch from a CDN (tests/core/test_api_docs.py).
    assert redoc.status_code == 200 and b"/static/vendor/redoc/redoc.standalone.js" in redoc.content
    assert b"cdn." not in docs.content + redoc.content


def test_score_explanations_document_the_restricted_lines(schema):
    """Viewers get one typed line per component instead of restricted engagements (DESIGN.md)."""
    explanation = component(schema, "ScoreExplanation")
    assert explanation["properties"]["restricted"]["items"] == {"$ref": "#/components/schemas/ExplanationRestricted"}
    assert "engagement_count" in explanation["required"]
    line = component(schema, "ExplanationRestricted")
    assert set(line["properties"]) == set(line["required"]) == {"component", "engagement_count", "weight"}
    assert line["properties"]["weight"]["type"] == "number"
    engagement = component(schema, "ExplanationEngagement")["properties"]
    assert not any(engagement[name].get("nullable") for name in ("id", "reference", "title"))


# --- what generated clients need (openapi-python-client, openapi-typescript) -------------------------------


def _walk(node, path=""):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def test_quarters_are_typed_as_quarters_never_as_dates(schema):
    pattern = r"^\d{4}-Q[1-4]$"
    for path in ("/api/v1/assessments/scores/", "/api/v1/assessments/alerts/"):
        period = next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "period")
        assert period["schema"]["type"] == "string" and "format" not in period["schema"]
        assert period["schema"]["pattern"] == pattern
    explain = schema["paths"]["/api/v1/assessments/scores/{iso3}/{period}/explain/"]["get"]
    assert next(p for p in explain["parameters"] if p["name"] == "period")["schema"]["pattern"] == pattern
    assert component(schema, "ScoreExplanation")["properties"]["period"]["pattern"] == pattern
    for _path, node in _walk(schema["paths"]):
        if node.get("name") == "period":
            assert node["schema"].get("format") != "date"


@pytest.mark.parametrize(
    "path, method",
    [
        ("/api/v1/auth/token/", "post"),
        ("/api/v1/assessments/objectives/", "post"),
        ("/api/v1/assessments/objectives/{id}/", "put"),
        ("/api/v1/assessments/objectives/{id}/", "patch"),
        ("/api/v1/assessments/indicators/", "post"),
        ("/api/v1/assessments/indicators/{id}/", "put"),
        ("/api/v1/assessments/measurements/", "post"),
        ("/api/v1/assessments/measurements/{id}/", "patch"),
    ],
)
def test_request_bodies_are_json_only(schema, path, method):
    # One schema listed under JSON, form and multipart made 7 generated Python modules fail to import.
    assert list(schema["paths"][path][method]["requestBody"]["content"]) == ["application/json"]


def test_no_nullable_beside_a_bare_all_of(schema):
    offending = [
        path for path, node in _walk(schema) if node.get("nullable") and "allOf" in node and "type" not in node
    ]
    assert offending == []
    after_action = component(schema, "Engagement")["properties"]["after_action"]
    assert after_action["oneOf"][0] == {"$ref": "#/components/schemas/AfterAction"}
    assert after_action["oneOf"][1]["nullable"] is True and after_action["oneOf"][1]["type"] == "object"
    stored = component(schema, "ScoreExplanation")["properties"]["stored"]
    assert stored["oneOf"][0] == {"$ref": "#/components/schemas/PartnerScore"}


def test_fields_always_in_answers_are_required(schema):
    engagement = component(schema, "Engagement")
    assert {"version", "status", "participants", "organizations", "sensitivity", "after_action"} <= set(
        engagement["required"]
    )
    assert set(component(schema, "Objective")["required"]) == set(component(schema, "Objective")["properties"])
    # Error answers keep their optional parts optional.
    assert set(component(schema, "Error")["required"]) == {"detail", "code"}
    # Requests are unchanged: version stays optional to send.
    assert "version" not in component(schema, "EngagementRequest").get("required", [])


@pytest.mark.django_db
def test_operations_taking_a_body_declare_415_as_they_answer(schema, api_for, planner):
    for path, method in [
        ("/api/v1/engagements/", "post"),
        ("/api/v1/engagements/{id}/", "put"),
        ("/api/v1/engagements/{id}/", "patch"),
        ("/api/v1/assessments/objectives/", "post"),
        ("/api/v1/auth/token/", "post"),
    ]:
        assert "415" in schema["paths"][path][method]["responses"], (path, method)
    assert "415" not in schema["paths"]["/api/v1/engagements/"]["get"]["responses"]
    response = api_for(planner).post("/api/v1/engagements/", "title=x", content_type="text/plain")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"


def test_budget_has_a_minimum_of_zero(schema):
    for name in ("Engagement", "EngagementRequest"):
        budget = component(schema, name)["properties"]["budget_usd"]
        assert budget["minimum"] == 0
        assert not budget["pattern"].startswith("^-")


def test_the_token_endpoint_has_its_own_error_examples(schema):
    responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    text = str({code: responses[code] for code in ("400", "404")})
    assert "Engagement" not in text and "participants" not in text
    assert "Unable to log in" in str(responses["400"])


def test_the_explanation_is_typed(schema):
    explanation = component(schema, "ScoreExplanation")["properties"]
    window = component(schema, explanation["window"]["$ref"].rsplit("/", 1)[-1])
    assert window["properties"]["first_day"]["format"] == "date"
    model = component(schema, explanation["scoring_model"]["$ref"].rsplit("/", 1)[-1])
    assert {"version", "weights", "half_life_days", "lookback_quarters", "activity_scale"} <= set(model["required"])
    ref = (explanation["inputs"].get("allOf") or [explanation["inputs"]])[0]["$ref"]
    inputs = component(schema, ref.rsplit("/", 1)[-1])
    assert set(inputs["properties"]) == {
        "activity",
        "interoperability",
        "capacity",
        "trust",
        "continuity",
        "multilateral",
        "objectives",
    }


def test_error_examples_belong_to_their_operation(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            text = str(
                {code: operation["responses"][code] for code in ("400", "404") if code in operation["responses"]}
            )
            if not path.startswith("/api/v1/engagements/"):
                assert "Engagement" not in text and "participants" not in text, (method, path)
    objective = schema["paths"]["/api/v1/assessments/objectives/"]["post"]["responses"]["400"]
    (example,) = objective["content"]["application/json"]["examples"].values()
    assert list(example["value"]["errors"]) == ["partner"] or "title" in example["value"]["errors"]


def test_limits_of_the_rules_are_in_the_schema(schema):
    from engagements import rules

    request = component(schema, "EngagementRequest")["properties"]
    assert request["participants"]["maxItems"] == 500
    assert request["latitude"]["minimum"] == -90 and request["latitude"]["maximum"] == 90
    assert component(schema, "ParticipantRequest")["properties"]["personnel"]["minimum"] == 0
    assert component(schema, "StatusChangeRequest")["properties"]["reason"]["maxLength"] == rules.REASON_MAX_LENGTH
