"""Hostile input never gets a 500: control characters in paths (404) and parameters (400), NUL in fields."""

import io
import json

import pytest
from django import forms
from rest_framework import serializers

from partners.models import PartnerNation
from tests.engagements.test_imports import csv_file, good_row
from tests.engagements.test_views import form_data

pytestmark = pytest.mark.django_db

PAGES = ["/partners/{}/", "/organizations/{}/", "/engagements/series/{}/", "/engagements/{}/"]
API = ["/api/v1/partners/{}/", "/api/v1/organizations/{}/", "/api/v1/series/{}/", "/api/v1/engagements/{}/"]
CONTROLS = ["%00", "NA%00TO", "%01", "%1F", "%7F", "%09", "%0A", "%0D"]


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("template", PAGES + API)
def test_a_control_character_in_a_path_is_a_404(client_for, planner, reference_data, template, control):
    client = client_for(planner)
    client.raise_request_exception = False
    response = client.get(template.format(control))
    assert response.status_code == 404
    if template.startswith("/api/"):
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("control", ["%00", "%01", "%1b", "%7f", "%09", "%0a"])
@pytest.mark.parametrize(
    "path",
    [
        "/engagements/?q=a{}",
        "/engagements/?partner=GHA{}",
        "/engagements/?ordering={}",
        "/partners/?q={}",
        "/organizations/?q={}",
        "/assessments/?region={}",
        "/api/v1/engagements/?q={}",
        "/api/v1/partners/?q={}",
        "/api/v1/organizations/?kind={}",
        "/api/v1/assessments/scores/?partner={}",
        "/engagements/?a{}b=1",
    ],
)
def test_a_control_character_in_a_parameter_is_a_400(client_for, planner, reference_data, path, control):
    client = client_for(planner)
    client.raise_request_exception = False
    response = client.get(path.format(control))
    assert response.status_code == 400
    if path.startswith("/api/"):
        body = response.json()
        assert body["code"] == "invalid"
        assert list(body["errors"].values()) == [["Control characters are not allowed."]]
    else:
        assert "contains control characters" in response.content.decode()


def test_tabs_and_newlines_stay_allowed_in_bodies(client_for, planner, reference_data):
    client = client_for(planner)
    data = form_data(description="Line one\r\n\tLine two")
    response = client.post("/engagements/new/", data)
    assert response.status_code == 302


def test_a_nul_in_a_page_field_is_a_field_error(client_for, planner, reference_data):
    client = client_for(planner)
    client.raise_request_exception = False
    response = client.post("/engagements/new/", form_data(title="Flint\x00lock"))
    assert response.status_code in (200, 400)
    assert response.context["form"].errors["title"] == ["Null characters are not allowed."]


def test_a_nul_in_an_api_field_is_a_400_on_the_field(api_for, planner):
    client = api_for(planner)
    client.raise_request_exception = False
    response = client.post(
        "/api/v1/engagements/",
        {"title": "Flint\x00lock", "participants": [{"partner": "G\x00H", "role": "host"}], "series": "a\x00"},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "Null characters are not allowed." in errors["title"]
    assert "Null characters are not allowed." in errors["series"]


def test_a_nul_in_an_imported_reference_is_a_bad_row(api_for, planner):
    client = api_for(planner)
    client.raise_request_exception = False
    content = csv_file([good_row(reference="ENG-2025-\x00001")]).getvalue()
    response = client.post("/api/v1/engagements/import/", {"file": io.BytesIO(content)}, format="multipart")
    assert response.status_code == 400
    assert response.json()["report"]["errors"][0]["column"] == "reference"


class PartnersForm(forms.Form):
    """Django's own field queries the database with the value, after its own checks."""

    partners = forms.ModelMultipleChoiceField(queryset=PartnerNation.objects.all(), to_field_name="iso3")


class PartnerCodeSerializer(serializers.Serializer):
    iso3 = serializers.CharField(validators=[])

    def validate_iso3(self, value):
        if not PartnerNation.objects.filter(iso3=value).exists():
            raise serializers.ValidationError("Unknown partner.")
        return value


@pytest.mark.requires_postgres
def test_a_nul_on_its_way_to_postgresql_is_a_field_error_not_a_500(reference_data):
    """PostgreSQL refuses NUL (psycopg raises ValueError): wherever a field's value meets a query, the
    refusal is that field's error, in forms and in serializers alike."""
    form = PartnersForm({"partners": ["GHA", "US\x00"]})
    assert not form.is_valid()
    assert form.errors["partners"] == ["Null characters are not allowed."]
    serializer = PartnerCodeSerializer(data={"iso3": "GH\x00"})
    serializer.fields["iso3"].validators = []  # DRF's own NUL check off: the database's refusal remains
    assert not serializer.is_valid()
    assert serializer.errors["iso3"] == ["Null characters are not allowed."]


@pytest.mark.parametrize(("path", "api"), [("/engagements/", False), ("/api/v1/engagements/", True)])
def test_a_nul_refused_outside_a_form_is_a_400_with_its_message(rf, path, api):
    """What a view does with a value outside a form or serializer: Django's 400 handler says why."""
    from core.api.views import bad_request
    from core.hostile import NullCharacterError

    response = bad_request(rf.get(path), NullCharacterError())
    assert response.status_code == 400
    if api:
        assert json.loads(response.content) == {"detail": "Null characters are not allowed.", "code": "invalid"}
    else:
        assert "Null characters are not allowed." in response.content.decode()
