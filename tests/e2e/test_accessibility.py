"""Accessibility of every main page in Chromium: axe-core finds no serious or critical WCAG 2 A/AA
violation, every form field has a label, and the login and engagement forms work with the keyboard alone,
with a visible focus."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from assessments.models import Alert, AssessmentRun
from assessments.periods import Quarter
from assessments.services import indicator_create, measurement_create, objective_create, scoring_model_active
from engagements.models import Engagement
from engagements.services import engagement_create, series_create
from partners.models import PartnerNation
from tests.e2e.conftest import PASSWORD, axe_violations, screenshot, unlabelled_fields

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(make_user, reference_data):
    """One of everything a main page shows: an engagement in a series with participants, frameworks and a
    report, its scores and run, an objective with an indicator and a measurement, and an open alert."""
    for role in ("viewer", "analyst", "planner"):
        make_user(f"{role}-a11y", role)
    make_user("admin-a11y", "admin", is_staff=True)
    planner = make_user("planner-two", "planner")
    series_create(name="Cutlass Express", user=planner)
    engagement = engagement_create(
        created_by=planner,
        title="Cutlass Express 2026",
        engagement_type="multilateral_drill",
        domain="maritime",
        status="completed",
        start_date=datetime.date(2026, 2, 2),
        end_date=datetime.date(2026, 2, 12),
        host_country="DJI",
        location_name="Djibouti port",
        latitude="11.6",
        longitude="43.1",
        series="cutlass-express",
        organizations=["AU"],
        threat_focus=["maritime_crime"],
        participants=[
            {"partner": "DJI", "role": "host", "personnel": 120},
            {"partner": "KEN", "personnel": 60},
            {"partner": "FRA", "role": "trainer", "personnel": 30},
        ],
        after_action={
            "summary": "Boarding drills.",
            "interoperability_rating": 4,
            "capacity_rating": 3,
            "trust_rating": 4,
        },
    ).engagement
    objective = objective_create(
        partner="KEN", line_of_effort="maritime_security", title="Patrol the coast", description="Coastal patrols."
    )
    indicator = indicator_create(
        objective=objective, name="Patrol days", unit="days", baseline_value=10, target_value=60
    )
    measurement_create(indicator=indicator, date=datetime.date(2026, 3, 31), value=25, source="Navy report")
    Alert.objects.create(
        partner=PartnerNation.objects.get(iso3="KEN"),
        period=Quarter.current().start,
        scoring_model=scoring_model_active(),
        overall=40.0,
        previous_overall=55.0,
        delta_overall=-15.0,
    )
    return {"engagement": engagement, "objective": objective, "indicator": indicator}


def audit(page, urls: list[str], *, forms: dict | None = None) -> dict:
    """Visit each page (or run each step) and collect what axe and the label check find on it."""
    found = {}
    for url in urls:
        response = page.goto(url)
        assert response.status < 400, f"{url} answered {response.status}"
        problems = axe_violations(page) + [{"unlabelled": name} for name in unlabelled_fields(page)]
        if problems:
            found[url] = problems
    for name, step in (forms or {}).items():
        step()
        problems = axe_violations(page) + [{"unlabelled": field} for field in unlabelled_fields(page)]
        if problems:
            found[name] = problems
    return found


def test_login_and_reference_pages_for_a_viewer(page, login, world):
    page.goto("/accounts/login/")
    assert axe_violations(page) == [] and unlabelled_fields(page) == []
    login("viewer-a11y")
    assert audit(page, ["/", "/partners/", "/partners/KEN/", "/organizations/", "/organizations/AU/"]) == {}


def test_account_pages_for_a_viewer(page, login, world):
    login("viewer-a11y")

    def create_token():
        page.goto("/account/tokens/")
        page.get_by_label("Name").fill("Reporting system")
        page.get_by_role("button", name="Create token").click()

    assert audit(page, ["/account/password/", "/account/tokens/"], forms={"new token": create_token}) == {}
    expect(page.locator("#new-token")).to_have_value(re.compile(r"^et_[0-9a-f]{64}$"))
    expect(page.locator("table.data td", has_text="Reporting system")).to_be_visible()


def test_engagement_pages_for_a_planner(page, login, world, tmp_path):
    pk = world["engagement"].pk
    login("planner-a11y")

    def new_form_with_errors():
        page.goto("/engagements/new/")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")

    def import_with_a_bad_row():
        bad = tmp_path / "bad.csv"
        bad.write_text(
            "title,engagement_type,domain,start_date,end_date,host_country\nX,exercise,land,2026-13-01,2026-01-02,KEN\n"
        )
        page.goto("/engagements/import/")
        page.get_by_label("File (CSV or XLSX)").set_input_files(bad)
        page.get_by_role("button", name="Check the file").click()
        expect(page.locator("#report")).to_contain_text("problem found")

    urls = [
        "/",
        "/engagements/",
        "/engagements/?status=completed&partner=KEN&q=cutlass",
        f"/engagements/{pk}/",
        "/engagements/new/",
        f"/engagements/{pk}/edit/",
        f"/engagements/{pk}/after-action/",
        f"/engagements/{pk}/delete/",
        "/engagements/calendar/?month=2026-02",
        "/engagements/calendar/?layout=week&week=2026-02-02&partner=KEN",
        "/engagements/calendar/?layout=timeline&month=2026-01&group=partner",
        "/engagements/series/",
        "/engagements/series/cutlass-express/",
        "/engagements/import/",
    ]
    forms = {"new engagement with errors": new_form_with_errors, "import report": import_with_a_bad_row}
    assert audit(page, urls, forms=forms) == {}


def test_assessment_pages_for_an_analyst(page, login, world):
    run = AssessmentRun.objects.first()
    login("analyst-a11y")
    urls = [
        "/",
        "/assessments/",
        "/assessments/partners/KEN/",
        "/assessments/partners/DJI/?period=2026-Q1",
        "/assessments/runs/",
        f"/assessments/runs/{run.pk}/",
        "/assessments/objectives/",
        f"/assessments/objectives/{world['objective'].pk}/",
        f"/assessments/indicators/{world['indicator'].pk}/",
        "/assessments/objectives/new/",
        "/assessments/alerts/",
        "/assessments/network/?region=Africa&from=2025-Q1&to=2026-Q2",
    ]
    assert audit(page, urls) == {}


def test_admin_pages(page, login, world):
    login("admin-a11y")
    assert audit(page, ["/", "/audit/", "/audit/?model=engagements.engagement"]) == {}


# --- the keyboard alone -------------------------------------------------------------------------------------


def tab_to(page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus, and check the focus can be seen."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            break
    else:
        raise AssertionError(f"Tab never reached {selector}")
    focus = page.evaluate(
        """() => { const el = document.activeElement, style = getComputedStyle(el);
            return {visible: el.matches(':focus-visible'), outline: style.outlineStyle, width: style.outlineWidth}; }"""
    )
    assert focus["visible"] and focus["outline"] != "none" and focus["width"] != "0px", (selector, focus)


def test_keyboard_only_login_and_new_engagement(page, world):
    page.goto("/accounts/login/")
    tab_to(page, "#id_username")
    page.keyboard.type("planner-a11y")
    tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    # The skip link is the first stop and takes the focus past the navigation.
    page.goto("/engagements/new/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    tab_to(page, "#id_title")
    page.keyboard.type("Keyboard patrol")
    tab_to(page, "#id_engagement_type")
    page.keyboard.type("Exercise")
    tab_to(page, "#id_domain")
    page.keyboard.type("Land")
    tab_to(page, "#id_start_date")
    page.keyboard.type("03102026")  # the date field's month, day and year segments (en-US)
    tab_to(page, "#id_end_date")
    page.keyboard.type("03122026")
    tab_to(page, "#id_host_country")
    page.keyboard.type("Ghana")
    tab_to(page, 'select[name="participants-0-partner"]')
    page.keyboard.type("Ghana")
    tab_to(page, 'input[name="participants-0-personnel"]')
    page.keyboard.press("Control+A")
    page.keyboard.type("35")
    tab_to(page, "#add-participant")
    page.keyboard.press("Enter")  # the new row takes the focus
    expect(page.locator('select[name="participants-3-partner"]')).to_be_focused()
    page.keyboard.type("Togo")
    tab_to(page, "#id_funding_source")
    screenshot(page, "keyboard-engagement-form")
    page.keyboard.type("Training fund")
    page.keyboard.press("Enter")  # submits the form from a text field

    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard patrol")
    engagement = Engagement.objects.get(title="Keyboard patrol")
    assert (engagement.engagement_type, engagement.domain, engagement.host_country.iso3) == ("exercise", "land", "GHA")
    assert (engagement.start_date, engagement.end_date) == (datetime.date(2026, 3, 10), datetime.date(2026, 3, 12))
    assert engagement.funding_source == "Training fund"
    assert sorted(engagement.participations.values_list("partner__iso3", "personnel")) == [("GHA", 35), ("TGO", 0)]
    assert re.match(r"ENG-2026-\d{6}$", engagement.reference)
    assert page.js_errors == []


def test_inbox_pages_for_a_viewer(page, login, world):
    from django.contrib.auth import get_user_model

    from notifications.services import notifications_create

    viewer = get_user_model().objects.get(username="viewer-a11y")
    notifications_create(
        kind="alert_raised", key="a11y", recipient_ids=[viewer.pk], title="Score alert: Kenya", url="/assessments/"
    )
    login("viewer-a11y")
    assert audit(page, ["/inbox/", "/inbox/settings/", "/assessments/organizations/AU/"]) == {}
