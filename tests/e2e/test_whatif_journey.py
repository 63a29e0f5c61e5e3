"""What-if scoring models in Chromium: an analyst drafts a model (a bad value is shown beside its field),
previews it against the active model, and an administrator activates it after confirming."""

import pytest
from playwright.sync_api import expect

from assessments.models import DraftStatus, ScoringModelDraft
from assessments.services import scoring_model_active
from assessments.services.whatif import preview_quarter
from tests.assessments.factories import make_engagement
from tests.e2e.conftest import axe_violations, screenshot, unlabelled_fields

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(make_user, reference_data):
    make_user("analyst-whatif", "analyst")
    make_user("admin-whatif", "admin", is_staff=True)
    q = preview_quarter()
    make_engagement(["GHA", "SEN"], q.end, q.end, ratings=(5, 5, 5))
    for _ in range(3):
        make_engagement(["KEN", "TZA"], q.end, q.end, ratings=(1, 1, 1))


def test_draft_preview_and_activate(world, page, login):
    login("analyst-whatif")
    page.goto("/assessments/scoring-models/")
    page.get_by_role("link", name="New draft").click()
    assert unlabelled_fields(page) == []
    page.get_by_label("Name").fill("Activity first")
    page.get_by_label("Half-life (days)").fill("0")
    page.get_by_label("Weight: Activity").fill("0.6")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error")).to_contain_text("The half-life must be between 1")
    page.get_by_label("Half-life (days)").fill("200")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Activity first")

    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#movers tbody tr")).to_have_count(4)
    expect(page.locator("#distribution tbody tr")).to_have_count(10)
    assert page.get_by_role("link", name="Activate…").count() == 0  # analysts do not activate
    assert axe_violations(page) == []
    screenshot(page, "whatif-preview")

    page.context.clear_cookies()
    login("admin-whatif")
    draft = ScoringModelDraft.objects.get()
    page.goto(f"/assessments/scoring-models/{draft.pk}/")
    page.get_by_role("link", name="Activate…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Activate the draft")
    page.get_by_role("button", name="Activate").click()
    # In-process tasks: the backfill ran within the request, and the new version is active.
    expect(page.locator("body")).to_contain_text("Activated as version 2")
    draft.refresh_from_db()
    assert draft.status == DraftStatus.ACTIVATED and scoring_model_active().version == 2
    assert page.js_errors == []
