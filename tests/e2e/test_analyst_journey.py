"""The analyst's journey in a real browser: start a run, watch it finish, read why a partner's score is
what it is (the planner's new engagement included), and acknowledge the alert the run raised.

Runs execute inside the live server (see ``tasks_run_in_process`` in conftest.py); the run page is
still awaited the way a person waits for it, so the test holds when runs go through a worker too.

Selectors that depend on the assessments templates (rebuilt separately): the "Runs" link of the
assessments sub-navigation, the "Start run" button, the run status in the run page's heading, the
"engagement(s) that contributed" text and the "run" link of the (collapsed) score history on the partner page, and
on the overview the alert row (found by the partner's name) with its "Note" field and "Acknowledge" button.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from assessments.models import Alert, AssessmentRun, PartnerScore
from assessments.periods import Quarter
from engagements.services import engagement_create
from tests.assessments.factories import make_engagement
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

NEW_TITLE = "Volta river patrol exchange"


@pytest.fixture
def scored_world(make_user, reference_data):
    """Senegal's only engagements: a good one that leaves the window with the current quarter, and a poor
    one that stays, so its score falls; and Ghana's engagement that a planner has just recorded."""
    make_user("analyst-e2e", "analyst")
    planner = make_user("planner-e2e", "planner")
    current = Quarter.current()
    leaving, staying = current.shift(-8).start, current.shift(-7).start  # in the previous window only / in both
    make_engagement(
        ["SEN"], leaving + datetime.timedelta(days=10), leaving + datetime.timedelta(days=15), ratings=(5, 5, 5)
    )
    make_engagement(
        ["SEN"], staying + datetime.timedelta(days=10), staying + datetime.timedelta(days=15), ratings=(1, 1, 1)
    )
    today = timezone.localdate()
    new = engagement_create(
        created_by=planner,
        title=NEW_TITLE,
        engagement_type="training_exchange",
        domain="maritime",
        status="completed",
        start_date=today - datetime.timedelta(days=20),
        end_date=today - datetime.timedelta(days=10),
        host_country="GHA",
        participants=[{"partner": "GHA", "role": "host", "personnel": 60}, {"partner": "TGO", "personnel": 20}],
        after_action={
            "summary": "Joint night patrols.",
            "interoperability_rating": 4,
            "capacity_rating": 4,
            "trust_rating": 5,
        },
    ).engagement
    assert not Alert.objects.exists()
    return new


def test_analyst_runs_scores_reads_the_explanation_and_acknowledges_an_alert(page, login, scored_world):
    current = Quarter.current()
    login("analyst-e2e")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assessments").click()
    page.wait_for_url("**/assessments/")
    screenshot(page, "analyst-1-overview-before-the-run")

    page.get_by_role("link", name="Runs", exact=True).click()
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/assessments/runs/[0-9a-f-]{36}/$"))
    run = AssessmentRun.objects.get(trigger="manual")
    assert str(run.pk) in page.url
    expect(page.get_by_role("status")).to_contain_text(f"Run started for {current.shift(-1)}, {current}.")
    # Finished when the heading says so (the page refreshes itself while the run is queued or running).
    expect(page.get_by_role("heading", level=1)).to_contain_text("Succeeded", timeout=60_000)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.periods == [str(current.shift(-1)), str(current)]
    assert run.partners_scored >= 3  # Senegal, Ghana, Togo
    screenshot(page, "analyst-2-run-succeeded")

    page.goto("/assessments/partners/GHA/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ghana")
    explanation = page.locator("#explanation")
    expect(explanation).to_contain_text(re.compile(r"engagements? that contributed"))
    expect(explanation).to_contain_text(scored_world.reference)
    expect(explanation).to_contain_text(NEW_TITLE)
    score = PartnerScore.objects.get(partner__iso3="GHA", period=current.start)
    assert score.run_id == run.pk and score.engagement_count == 1
    # The history row of the current quarter was stored by this run and links to it.
    page.locator("summary", has_text="Score history").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=str(current), exact=True))
    expect(row.get_by_role("link", name="run")).to_have_attribute("href", f"/assessments/runs/{run.pk}/")
    screenshot(page, "analyst-3-ghana-explained")

    page.goto("/assessments/")
    alert = Alert.objects.select_related("partner").get()
    assert (alert.partner.iso3, alert.period) == ("SEN", current.start) and alert.delta_overall <= -10
    alert_row = (
        page.get_by_role("row").filter(has_text="Senegal").filter(has=page.get_by_role("button", name="Acknowledge"))
    )
    alert_row.get_by_label("Note").fill("Expected: Flintlock moved out of the window.")
    alert_row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("ul.messages")).to_contain_text("Alert acknowledged.")
    # An acknowledged alert leaves the open alerts; who acknowledged it, and the note, are kept.
    expect(page.locator("#alerts").get_by_role("row").filter(has_text="Senegal")).to_have_count(0)
    alert.refresh_from_db()
    assert alert.acknowledged_by.username == "analyst-e2e" and alert.note.startswith("Expected: Flintlock")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    alert.refresh_from_db()
    assert alert.acknowledged_by.username == "analyst-e2e"
    assert alert.note == "Expected: Flintlock moved out of the window."
    screenshot(page, "analyst-4-alert-acknowledged")
    assert page.js_errors == []
