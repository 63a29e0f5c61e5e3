"""Real-browser tests: Playwright for Python driving the system's Chromium (never a downloaded browser)
against the app on pytest-django's live server with a real database.

Without Chromium these tests are skipped with a message saying how to install it; under CI
(REQUIRE_BROWSER=1, set by .ci/run, which installs Chromium) they fail instead of skipping.
Screenshots of key screens go to artifacts/ (ignored by git) for review.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

# Playwright's sync API runs an event loop in this thread; the Django ORM calls made by fixtures and
# assertions here are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PASSWORD = "pw-for-tests-123"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def pytest_runtest_setup(item):
    if item.get_closest_marker("e2e") and CHROMIUM is None:
        message = "Chromium not found: install it with `apt-get install chromium` to run the browser tests"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (REQUIRE_BROWSER=1: they must run)", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()
        # While Playwright's event loop runs in this thread, the tests after the first e2e test on this process
        # (e2e or not) use connections Django keeps for that context (asgiref's Local): close them before the
        # test database is dropped, or it is "being accessed by other users".
        connections.close_all()


@pytest.fixture
def page(browser, live_server):
    # bypass_csp only lets the tests inject axe-core; the app's own pages never need it. An English browser
    # whatever the machine's LANG: the pages follow Accept-Language, and date fields order their segments by it.
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1360, "height": 900}, bypass_csp=True, locale="en-US"
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.js_errors = errors
    yield tab
    context.close()


@pytest.fixture
def login(page):
    def _login(username: str, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    return _login


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """Serious and critical WCAG 2.0, 2.1 and 2.2 A/AA violations on the current page, from the vendored axe-core."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]


@pytest.fixture(autouse=True)
def tasks_run_in_process():
    """Background tasks run inside the live server, as under `make run`, even when CI sets a broker.

    No worker runs beside the live server. With CI's Redis broker every save would queue a recompute that
    nobody executes, and a worker started here would share the broker's queue with the worker of
    tests/integration running at the same time in the other xdist process: each would take the other's
    messages and look for the run in its own test database. The broker-to-worker path is proven by
    tests/integration/test_assessment_worker.py; these tests prove what people see.
    """
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def unlabelled_fields(page) -> list[str]:
    """Visible form fields a screen reader cannot name: no <label>, aria-label or aria-labelledby."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
            .filter(el => !(el.labels && el.labels.length)
                && !(el.getAttribute('aria-label') || '').trim() && !el.getAttribute('aria-labelledby'))
            .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""
    )
