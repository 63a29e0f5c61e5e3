"""Every URL but the login page and /healthz needs a login: walk the whole URLconf, so a page added
later is covered without anyone remembering to add it here."""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

PUBLIC = {"/accounts/login/", "/healthz", "/admin/login/"}
# The calendar feed: its secret address stands for a login (calendar programs have none), so a wrong secret
# is a 404; the right one gives its owner's feed (tests/engagements/test_calendar.py).
SECRET_ADDRESSED = {"/engagements/calendar/feed/x.ics"}
# A fixed UUID: pytest-xdist workers must collect the same parametrised ids.
SAMPLE_UUID = str(uuid.UUID(int=0x1234))
SAMPLE = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": SAMPLE_UUID}


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            yield prefix + route


REGEX_SAMPLES = ["abc", "1", SAMPLE_UUID]


def _regex_sample(match: re.Match) -> str:
    group = match.group(0)
    body = group[group.index(">") + 1 : -1]
    return next((c for c in REGEX_SAMPLES if re.fullmatch(body, c)), "x")


def _concrete(route: str) -> str | None:
    if route.startswith("admin/") and ("(?P" in route or "\\" in route):
        return None  # the admin's own regex routes are covered by its login check on the index
    route = re.sub(r"\(\?P<\w+>[^)]*\)", _regex_sample, route)
    route = route.replace("^", "").replace("$", "")
    if "(" in route or "\\" in route:
        return None
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "x"), route)
    return "/" + path


def all_paths():
    paths = sorted({p for p in (_concrete(r) for r in _walk(get_resolver().url_patterns)) if p is not None})
    assert len(paths) > 5
    return paths


@pytest.mark.parametrize("path", all_paths())
def test_anonymous_users_are_turned_away(client, path):
    response = client.get(path)
    if path in PUBLIC:
        assert response.status_code == 200
    elif path in SECRET_ADDRESSED:
        assert response.status_code == 404, path
    elif path == "/i18n/setlang/":
        assert response.status_code in (302, 204)  # public language switch; it never shows data
    elif path.startswith("/api/"):
        assert response.status_code in (401, 403, 405), path
    elif path.startswith("/admin/"):
        assert response.status_code == 302, path
        assert response["Location"].startswith(("/admin/login/", "/accounts/login/")), path
    else:
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/?next="), path


def test_the_login_page_is_public_and_home_is_not(client):
    assert client.get("/accounts/login/").status_code == 200
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/"
