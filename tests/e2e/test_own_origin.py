"""Nothing is fetched from another host, under the Content-Security-Policy a real browser enforces.

Closed and air-gapped networks are the norm for this application's users: a page that asks another host for
anything (a logo, a web font, a validator badge) shows them an error and tells an outsider who reads the API
documentation. The shared ``page`` fixture bypasses the CSP so that other tests may inject axe-core; these
tests open their own browser context with the policy on, record every request, console message and CSP
violation, and expect each request to go to the application's own origin.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlsplit

import pytest

from engagements.services import engagement_create
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

# Violations are reported as DOM events; recorded before any page script runs (init scripts are not
# subject to the page's CSP, the page's own resources are).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""


@pytest.fixture
def strict_page(browser, live_server):
    """A tab that enforces the app's CSP, as every real browser does, and records what it asks for."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD_VIOLATIONS)
    tab = context.new_page()
    tab.requested = []
    tab.console = []
    tab.on("request", lambda request: tab.requested.append(request.url))
    tab.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
    tab.on("pageerror", lambda exc: tab.console.append(f"pageerror: {exc}"))
    yield tab
    context.close()


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def outside(urls: list[str], origin: str) -> list[str]:
    """The URLs that leave the app's origin (data: and blob: URLs are made in the page itself)."""
    own = urlsplit(origin)
    return [
        url
        for url in urls
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url)[:2] != (own.scheme, own.netloc)
    ]


def visit(page, url: str, *, ready: str | None = None) -> dict:
    """Open ``url``, wait until it has rendered and settled, and return what it fetched and reported."""
    page.requested.clear()
    page.console.clear()
    response = page.goto(url)
    assert response.status < 400, f"{url} answered {response.status}"
    if ready:
        page.locator(ready).first.wait_for()
    page.wait_for_load_state("networkidle")
    # Redoc adds some images only after its first render, from an effect: give them their turn.
    page.wait_for_timeout(300)
    return {
        "requests": list(page.requested),
        "console": [line for line in page.console if line.startswith(("error", "pageerror"))],
        "violations": page.evaluate("window.__cspViolations"),
    }


def assert_self_contained(found: dict, origin: str) -> None:
    problems = {}
    for url, seen in found.items():
        bad = {
            "outside requests": outside(seen["requests"], origin),
            "CSP violations": seen["violations"],
            "console errors": [
                line for line in seen["console"] if "Content Security Policy" in line or "Refused to" in line
            ],
        }
        bad = {key: value for key, value in bad.items() if value}
        if bad:
            problems[url] = bad
    assert problems == {}


def test_api_documentation_loads_only_from_the_app(strict_page, live_server, make_user):
    make_user("integrator-e2e", "planner")
    sign_in(strict_page, "integrator-e2e")
    found = {
        # Swagger UI: its operations are listed once the schema has loaded.
        "/api/docs/": visit(strict_page, "/api/docs/", ready=".swagger-ui .opblock"),
        # Redoc: its side menu lists the operations once the schema has loaded.
        "/api/redoc/": visit(strict_page, "/api/redoc/", ready="[role=menu] label"),
    }
    assert_self_contained(found, live_server.url)
    # Redoc's "API docs by Redocly" badge links to the internet, which closed networks cannot follow.
    assert strict_page.get_by_text("API docs by Redocly").is_hidden()
    # Both rendered the schema (an empty page fetches nothing and would pass the test above).
    for url, seen in found.items():
        assert any("/api/schema/" in request for request in seen["requests"]), url
        assert seen["console"] == [], url


def test_main_pages_load_only_from_the_app(strict_page, live_server, make_user, reference_data):
    make_user("admin-e2e", "admin", is_staff=True)
    planner = make_user("planner-e2e", "planner")
    engagement = engagement_create(
        created_by=planner,
        title="Obangame Express 2026",
        engagement_type="multilateral_drill",
        domain="maritime",
        status="completed",
        start_date=datetime.date(2026, 3, 2),
        end_date=datetime.date(2026, 3, 9),
        host_country="GHA",
        participants=[{"partner": "GHA", "role": "host", "personnel": 80}, {"partner": "SEN", "personnel": 40}],
    ).engagement
    sign_in(strict_page, "admin-e2e")
    urls = [
        "/?home=1",
        "/engagements/",
        f"/engagements/{engagement.pk}/",
        "/engagements/calendar/?month=2026-03",
        "/assessments/",
        "/assessments/partners/GHA/",
        "/partners/GHA/",
        "/organizations/ECOWAS/",
        "/audit/",
    ]
    found = {url: visit(strict_page, url) for url in urls}
    assert_self_contained(found, live_server.url)
    assert {url: seen["console"] for url, seen in found.items() if seen["console"]} == {}
