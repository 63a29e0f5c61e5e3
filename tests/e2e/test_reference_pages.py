"""Reading reference data in a real browser: log in, search partners, look up members on a date."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import axe_violations, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_page_is_accessible_and_refuses_a_wrong_password(page, make_user):
    make_user("viewer-e2e", "viewer")
    page.goto("/accounts/login/")
    assert axe_violations(page) == []
    page.get_by_label("Username").fill("viewer-e2e")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    assert page.url.endswith("/accounts/login/")


def test_viewer_searches_partners_and_reads_nato_members_on_a_date(page, login, make_user, reference_data):
    make_user("viewer-e2e", "viewer")
    login("viewer-e2e")
    expect(page.get_by_text("Viewer").first).to_be_visible()
    page.get_by_role("link", name="Partners").first.click()
    page.get_by_label("Search").fill("Sweden")
    page.get_by_role("button", name="Filter").click()
    assert "q=Sweden" in page.url
    page.get_by_role("link", name="Sweden").click()
    expect(page.locator("h1")).to_have_text("Sweden")
    expect(page.get_by_text("from 2024-03-07")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "viewer-partner-sweden")

    page.goto("/organizations/NATO/")
    page.get_by_label("Members on").fill("2024-03-06")
    page.get_by_role("button", name="Show members").click()
    expect(page.get_by_text("31 members on 2024-03-06")).to_be_visible()
    expect(page.locator("svg.map circle.marker")).to_have_count(31)
    assert axe_violations(page) == []
    screenshot(page, "viewer-nato-members")
    assert page.js_errors == []
