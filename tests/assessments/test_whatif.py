"""What-if scoring models: drafts, previews against the active model, and activation with its backfill.

The known world, in the last finished quarter Q (every engagement ends on Q's last day, so its age is 0 and
its weight 1): Ghana and Senegal meet once with all-5 ratings; Kenya and Tanzania meet three times with
all-1 ratings. The draft weighs activity only (weight 1, every other component 0).
"""

from __future__ import annotations

import math
from unittest import mock

import pytest
from django.urls import reverse

from assessments.choices import COMPONENTS, RunStatus
from assessments.models import DraftStatus, PartnerScore, ScoringModel, ScoringModelDraft, ScoringPreview
from assessments.services import assessment_run_execute, assessment_run_request, scoring_model_active
from assessments.services.whatif import (
    preview_quarter,
    ranks_of,
    scoring_model_draft_activate,
    scoring_model_draft_create,
    scoring_model_draft_initial,
    scoring_preview_request,
)
from assessments.whatif_selectors import preview_rows, preview_summary
from tests.assessments.factories import make_engagement

pytestmark = [pytest.mark.django_db, pytest.mark.requires_postgres]

ACTIVITY_ONLY = {name: (1.0 if name == "activity" else 0.0) for name in COMPONENTS}


@pytest.fixture
def eager():
    """Tasks run in the process, as in the embedded mode (tests/notifications does the same)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def world(reference_data):
    q = preview_quarter()
    make_engagement(["GHA", "SEN"], q.end, q.end, ratings=(5, 5, 5))
    for _ in range(3):
        make_engagement(["KEN", "TZA"], q.end, q.end, ratings=(1, 1, 1))
    return q


def _draft(user=None, **changes) -> ScoringModelDraft:
    parameters = {**scoring_model_draft_initial(), "weights": dict(ACTIVITY_ONLY), **changes}
    return scoring_model_draft_create(user=user, name="Activity only", **parameters)


def _preview(draft, django_capture_on_commit_callbacks, user=None) -> ScoringPreview:
    with django_capture_on_commit_callbacks(execute=True):
        preview = scoring_preview_request(draft=draft, user=user)
    preview.refresh_from_db()
    return preview


def _activity(weight_sum: float) -> float:
    return 100 * (1 - math.exp(-weight_sum / 4))


# --- the known answer -----------------------------------------------------------------------------------------


def test_ranks_are_competition_ranks():
    assert ranks_of({1: 50.0, 2: 70.0, 3: 50.0, 4: None, 5: 10.0}) == {2: 1, 1: 2, 3: 2, 5: 4}


def test_preview_rank_changes_movers_and_distribution(world, eager, django_capture_on_commit_callbacks):
    preview = _preview(_draft(), django_capture_on_commit_callbacks)
    assert preview.status == RunStatus.SUCCEEDED and preview.quarter == world
    rows = {row.partner.iso3: row for row in preview_rows(preview=preview)}
    assert set(rows) == {"GHA", "SEN", "KEN", "TZA"}

    # Draft: overall = activity. Active model v1: weighted mean of activity, the three ratings (100 for all-5,
    # 0 for all-1), continuity (1 quarter of 8 = 12.5) and multilateral (two partners, no framework: 0),
    # with weights 0.15 x 5 and 0.10 (objectives null): total 0.85.
    ken_draft, gha_draft = _activity(3), _activity(1)
    ken_active = (0.15 * ken_draft + 0.15 * 12.5) / 0.85
    gha_active = (0.15 * gha_draft + 0.45 * 100 + 0.15 * 12.5) / 0.85
    assert rows["KEN"].overall == pytest.approx(ken_draft) and rows["GHA"].overall == pytest.approx(gha_draft)
    assert rows["KEN"].baseline_overall == pytest.approx(ken_active)
    assert rows["GHA"].baseline_overall == pytest.approx(gha_active)
    # Competition ranks: Kenya and Tanzania rise from 3rd (two above them) to 1st (tied), +2 places; Ghana
    # and Senegal fall from 1st to 3rd, -2.
    assert (rows["KEN"].baseline_rank, rows["KEN"].rank, rows["KEN"].rank_change) == (3, 1, 2)
    assert (rows["SEN"].baseline_rank, rows["SEN"].rank, rows["SEN"].rank_change) == (1, 3, -2)

    summary = preview_summary(preview=preview)
    assert (summary["rank_up"], summary["rank_down"], summary["rank_same"]) == (2, 2, 0)
    movers = [row.partner.iso3 for row in summary["largest_movers"]]
    # Kenya moves by +41.24, Ghana by -36.93: the largest shift in size first, names breaking ties.
    assert movers == ["KEN", "TZA", "GHA", "SEN"]
    assert summary["largest_movers"][0].shift == pytest.approx(ken_draft - ken_active)
    assert [row.partner.iso3 for row in summary["rank_changes"]] == ["KEN", "TZA", "GHA", "SEN"]
    # Draft: Ghana and Senegal at 22.1 (20-30), Kenya and Tanzania at 52.8 (50-60); active: 59.1 and 11.5.
    bins = {b["low"]: (b["count"], b["baseline_count"]) for b in summary["histogram"]}
    assert bins[20] == (2, 0) and bins[50] == (2, 2) and bins[10] == (0, 2)
    assert sum(count for count, _ in bins.values()) == 4
    assert summary["mean"] == pytest.approx((ken_draft + gha_draft) / 2)


def test_the_preview_equals_a_run_with_the_same_model(
    world, eager, django_capture_on_commit_callbacks, admin_user_role
):
    draft = _draft(half_life_days=200, lookback_quarters=4, activity_scale=2.5)
    preview = _preview(draft, django_capture_on_commit_callbacks)
    assert not PartnerScore.objects.filter(period=world.start).exists()  # the preview wrote no real score
    with django_capture_on_commit_callbacks(execute=True):
        draft = scoring_model_draft_activate(draft=draft, user=admin_user_role)
    draft.refresh_from_db()
    assert draft.status == DraftStatus.ACTIVATED and draft.scoring_model.is_active
    stored = {
        s.partner.iso3: s
        for s in PartnerScore.objects.filter(scoring_model=draft.scoring_model, period=world.start).select_related(
            "partner"
        )
    }
    previewed = {row.partner.iso3: row for row in preview_rows(preview=preview)}
    assert set(stored) == set(previewed) == {"GHA", "SEN", "KEN", "TZA"}
    for code, score in stored.items():
        row = previewed[code]
        assert score.overall == row.overall, code
        for name in COMPONENTS:
            assert getattr(score, name) == getattr(row, name), (code, name)
        assert (score.engagement_count, score.report_count, score.confidence) == (
            row.engagement_count,
            row.report_count,
            row.confidence,
        )


# --- activation -------------------------------------------------------------------------------------------------


def test_activation_keeps_the_old_version_and_shows_its_scores_marked_until_the_backfill_is_done(
    world, client_for, analyst, admin_user_role, django_capture_on_commit_callbacks
):
    old = scoring_model_active()
    assessment_run_execute(run_id=assessment_run_request(periods=[str(world)], enqueue=False).pk)
    old_scores = PartnerScore.objects.filter(scoring_model=old).count()
    assert old_scores == 4

    draft = scoring_model_draft_activate(draft=_draft(), user=admin_user_role)  # its run is not sent yet
    new = draft.scoring_model
    assert new.version == old.version + 1 and not new.is_active and draft.status == DraftStatus.ACTIVATING
    assert scoring_model_active() == old
    page = client_for(analyst).get(reverse("assessments:overview") + f"?period={world}")
    text = page.content.decode()
    assert f"Scores are being recomputed with model v{new.version}; shown: v{old.version}." in text
    api = client_for(analyst).get("/api/v1/assessments/scores/", {"period": str(world)}).json()
    assert {row["scoring_model"] for row in api["results"]} == {old.version}

    with django_capture_on_commit_callbacks(execute=True):
        assessment_run_execute(run_id=draft.backfill_run_id)
    draft.refresh_from_db()
    old.refresh_from_db()
    assert draft.status == DraftStatus.ACTIVATED and draft.activated_at
    assert scoring_model_active() == new and not old.is_active
    assert PartnerScore.objects.filter(scoring_model=old).count() == old_scores  # the history keeps v1
    text = client_for(analyst).get(reverse("assessments:overview") + f"?period={world}").content.decode()
    assert "Scores are being recomputed" not in text
    api = client_for(analyst).get("/api/v1/assessments/scores/", {"period": str(world)}).json()
    assert {row["scoring_model"] for row in api["results"]} == {new.version}
    # The versions keep their parameters: the history shows both.
    assert ScoringModel.objects.get(pk=old.pk).weights != ScoringModel.objects.get(pk=new.pk).weights


def test_a_failed_backfill_leaves_the_old_model_and_its_scores(
    world, eager, admin_user_role, django_capture_on_commit_callbacks
):
    old = scoring_model_active()
    draft = scoring_model_draft_activate(draft=_draft(), user=admin_user_role)
    with (
        mock.patch("assessments.services.runs.scores_compute", side_effect=RuntimeError("disk full")),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
    ):
        assessment_run_execute(run_id=draft.backfill_run_id)
    draft.refresh_from_db()
    assert draft.status == DraftStatus.FAILED and "disk full" in draft.activation_error
    assert scoring_model_active() == old and not draft.scoring_model.is_active
    # Activating again reuses the version made the first time and succeeds.
    with django_capture_on_commit_callbacks(execute=True):
        again = scoring_model_draft_activate(draft=draft, user=admin_user_role)
        assessment_run_execute(run_id=again.backfill_run_id)
    again.refresh_from_db()
    assert again.status == DraftStatus.ACTIVATED and again.scoring_model_id == draft.scoring_model_id
    assert scoring_model_active().pk == draft.scoring_model_id


def test_one_activation_at_a_time_and_activated_drafts_are_frozen(world, admin_user_role):
    first = scoring_model_draft_activate(draft=_draft(), user=admin_user_role)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        scoring_model_draft_activate(draft=_draft(), user=admin_user_role)
    assert "status" in error.value.message_dict
    with pytest.raises(ValidationError):
        scoring_model_draft_activate(draft=first, user=admin_user_role)


# --- previews that fail -----------------------------------------------------------------------------------------


def test_a_failed_preview_keeps_the_earlier_one_and_shows_the_failure(
    world, eager, analyst, client_for, django_capture_on_commit_callbacks
):
    draft = _draft(user=analyst)
    good = _preview(draft, django_capture_on_commit_callbacks, user=analyst)
    with (
        mock.patch("assessments.services.whatif.scores_compute", side_effect=RuntimeError("worker lost")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        scoring_preview_request(draft=draft, user=analyst)
    failed = ScoringPreview.objects.exclude(pk=good.pk).get()
    assert failed.status == RunStatus.FAILED and "worker lost" in failed.error
    assert preview_rows(preview=good).count() == 4  # the earlier preview is intact
    page = client_for(analyst).get(reverse("assessments:scoring-model", args=[draft.pk]))
    text = page.content.decode()
    assert "worker lost" in text and "The previous preview is shown below." in text and 'id="movers"' in text
    answer = client_for(analyst).get(f"/api/v1/assessments/scoring-models/{draft.pk}/preview/").json()
    assert answer["latest"]["status"] == "failed" and answer["result"]["preview"]["id"] == str(good.pk)


# --- pages and API: the same rules ------------------------------------------------------------------------------


def test_the_form_shows_the_models_messages_beside_the_fields(reference_data, analyst, client_for):
    client = client_for(analyst)
    data = {
        "name": "Bad",
        "half_life_days": 0,
        "lookback_quarters": 41,
        "activity_scale": 2,
        **{f"weight_{name}": 0 for name in COMPONENTS},
    }
    response = client.post(reverse("assessments:scoring-model-create"), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert "half-life must be between 1" in form.errors["half_life_days"][0]
    assert "look-back must be between 1 and 40" in form.errors["lookback_quarters"][0]
    assert "At least one weight must be above 0." in form.non_field_errors()
    assert not ScoringModelDraft.objects.exists()
    ok = client.post(
        reverse("assessments:scoring-model-create"),
        {**data, "half_life_days": 300, "lookback_quarters": 6, "weight_trust": 1},
    )
    assert ok.status_code == 302
    assert ScoringModelDraft.objects.get().weights["trust"] == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"weights": {"activity": 1}}, "weights"),
        ({"weights": "heavy"}, "weights"),
        ({"half_life_days": -3}, "half_life_days"),
        ({"half_life_days": "long"}, "half_life_days"),
        ({"lookback_quarters": 0}, "lookback_quarters"),
        ({"activity_scale": 0}, "activity_scale"),
        ({"activity_scale": 1e300}, "activity_scale"),
        ({"name": ""}, "name"),
    ],
)
def test_the_api_answers_400_with_the_field(reference_data, analyst, api_for, body, field):
    payload = {"name": "API draft", **scoring_model_draft_initial(), **body}
    response = api_for(analyst).post("/api/v1/assessments/scoring-models/", payload, format="json")
    assert response.status_code == 400, response.content
    assert any(key.startswith(field) for key in response.json()["errors"]), response.json()
    assert not ScoringModelDraft.objects.exists()


def test_api_drafts_preview_and_activate(world, eager, analyst, admin_user_role, api_for):
    client = api_for(analyst)
    created = client.post(
        "/api/v1/assessments/scoring-models/",
        {"name": "API draft", **scoring_model_draft_initial(), "weights": ACTIVITY_ONLY},
        format="json",
    )
    assert created.status_code == 201 and created.json()["status"] == "draft" and created.json()["version"] is None
    url = f"/api/v1/assessments/scoring-models/{created.json()['id']}/"
    assert client.patch(url, {"half_life_days": 180}, format="json").json()["half_life_days"] == 180
    assert client.post(url + "activate/").status_code == 403  # analysts do not activate
    started = client.post(url + "preview/")
    assert started.status_code == 202 and started.json()["quarter"] == str(world)
    activated = api_for(admin_user_role).post(url + "activate/")
    assert activated.status_code == 202 and activated.json()["version"] == scoring_model_active().version + 1
    assert client.patch(url, {"half_life_days": 90}, format="json").status_code == 400  # frozen once activating


def test_viewers_and_planners_see_no_drafts(reference_data, viewer, planner, api_for, client_for):
    draft = _draft()
    for user in (viewer, planner):
        assert api_for(user).get("/api/v1/assessments/scoring-models/").status_code == 403
        assert client_for(user).get(reverse("assessments:scoring-model", args=[draft.pk])).status_code == 403


def test_list_page_and_api_run_in_constant_queries(
    world, eager, analyst, client_for, api_for, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    for number in range(6):
        _preview(_draft(user=analyst, activity_scale=2 + number), django_capture_on_commit_callbacks)
    client = client_for(analyst)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("assessments:scoring-models")).status_code == 200
    api = api_for(analyst)
    with django_assert_max_num_queries(8):
        assert api.get("/api/v1/assessments/scoring-models/").json()["count"] == 6
    draft = ScoringModelDraft.objects.first()
    with django_assert_max_num_queries(16):
        page = client.get(reverse("assessments:scoring-model", args=[draft.pk]))
    assert page.status_code == 200 and 'id="distribution"' in page.content.decode()
    with django_assert_max_num_queries(12):
        assert api.get(f"/api/v1/assessments/scoring-models/{draft.pk}/preview/").json()["result"]["scored"] == 4


def test_a_draft_without_preview_and_an_activated_one(world, analyst, admin_user_role, api_for, client_for):
    draft = _draft(user=analyst)
    url = f"/api/v1/assessments/scoring-models/{draft.pk}/"
    assert api_for(analyst).get(url + "preview/").json() == {"latest": None, "result": None}
    page = client_for(analyst).get(reverse("assessments:scoring-model", args=[draft.pk]))
    assert page.status_code == 200 and "No preview yet" in page.content.decode()
    scoring_model_draft_activate(draft=draft, user=admin_user_role)
    refused = api_for(analyst).delete(url)
    assert refused.status_code == 400 and "status" in refused.json()["errors"]
    assert api_for(admin_user_role).post(url + "activate/").status_code == 400  # already being activated
    assert ScoringModelDraft.objects.filter(pk=draft.pk).exists()
    page = client_for(analyst).get(reverse("assessments:scoring-model", args=[draft.pk]))
    assert "Scores are being recomputed with model v2" in page.content.decode()


def test_beat_settles_a_lost_announcement_and_changes_made_meanwhile_are_recomputed(world, admin_user_role):
    from assessments.choices import RunTrigger
    from assessments.models import AssessmentRun
    from assessments.tasks import resend_waiting_runs
    from engagements.models import PartnerChange
    from partners.models import PartnerNation

    draft = scoring_model_draft_activate(draft=_draft(), user=admin_user_role)
    assessment_run_execute(run_id=draft.backfill_run_id)  # its announcement is never delivered
    draft.refresh_from_db()
    assert draft.status == DraftStatus.ACTIVATING
    # An edit while the backfill ran: the old model's runs took it in, the new model must too.
    PartnerChange.objects.create(partner=PartnerNation.objects.get(iso3="GHA"), first_day=world.end, last_day=world.end)
    resend_waiting_runs.apply()
    draft.refresh_from_db()
    assert draft.status == DraftStatus.ACTIVATED and scoring_model_active() == draft.scoring_model
    recompute = AssessmentRun.objects.get(trigger=RunTrigger.DATA_CHANGE)
    assert recompute.scoring_model == draft.scoring_model and recompute.partner_ids == [
        PartnerNation.objects.get(iso3="GHA").pk
    ]
    assert str(world) in recompute.periods


def test_the_admin_site_is_no_side_door_to_switch_versions(reference_data, admin_user_role, client_for):
    model = scoring_model_active()
    client = client_for(admin_user_role)
    url = f"/admin/assessments/scoringmodel/{model.pk}/change/"
    client.post(url, {"description": "The first model", "half_life_days": 5})  # is_active left out: unticked
    model.refresh_from_db()
    assert model.is_active and model.half_life_days == 365 and model.description == "The first model"
    assert client.get("/admin/assessments/scoringmodel/add/").status_code == 403
