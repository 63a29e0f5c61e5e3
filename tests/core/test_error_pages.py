"""Error pages for people have the site's layout and navigation; the API keeps its JSON errors."""

import json

import pytest
from django.template.loader import get_template
from django.test import RequestFactory

from core import errors

pytestmark = pytest.mark.django_db

NAVIGATION = '<nav class="areas"'


@pytest.fixture
def production(settings):
    settings.DEBUG = False


def test_an_unknown_page_is_a_styled_404_with_navigation(production, client_for, viewer):
    response = client_for(viewer).get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert NAVIGATION in html and 'href="/engagements/"' in html  # the layout, with the user's navigation
    assert "Page not found" in html and "Error 404" in html
    french = client_for(viewer).get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="fr")
    assert french.status_code == 404 and '<html lang="fr">' in french.content.decode()


def test_an_unknown_api_route_stays_json(production, api_for, viewer):
    response = api_for(viewer).get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_viewer_on_a_planner_page_gets_the_styled_403(production, client_for, viewer):
    response = client_for(viewer).get("/engagements/new/")
    html = response.content.decode()
    assert response.status_code == 403
    assert NAVIGATION in html and "Error 403" in html
    assert "Your role cannot change engagements." in html  # the refusal's own message


def test_the_500_page_renders_standalone_without_a_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = get_template("500.html").render()  # as Django's 500 handler does: no request, no context
    assert "Something went wrong on our side" in html and 'class="topbar"' in html and "app.css" in html


def test_the_500_handler_answers_a_page_or_json(django_assert_num_queries):
    factory = RequestFactory()
    with django_assert_num_queries(0):
        page = errors.server_error(factory.get("/engagements/"))
    assert page.status_code == 500 and "Error 500" in page.content.decode()
    api = errors.server_error(factory.get("/api/v1/engagements/"))
    assert api.status_code == 500 and api["Content-Type"] == "application/json"
    assert json.loads(api.content)["code"] == "server_error"


def test_the_429_page_has_the_layout():
    html = get_template("429.html").render()
    assert "Too many requests" in html and 'class="topbar"' in html
