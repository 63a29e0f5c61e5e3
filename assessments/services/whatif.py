"""What-if scoring models: analysts' drafts, their previews, and an administrator's activation.

A preview scores the last finished quarter with the draft's parameters and with the active model, from the
same data, into ``ScoringPreviewScore`` (a scratch table): the real scores are never touched, and the
numbers are the ones a real run with the same parameters stores, because both come from ``scores_compute``.

Activating a draft makes it the next version: a new, inactive ``ScoringModel`` and a run of it over the
look-back window ending with the current quarter (the existing run machinery: fanned out per quarter on a
broker). The pages keep reading the active (old) model, marked as being replaced, until that run succeeds;
then ``scoring_model_activation_settle`` (told by ``assessment_run_finished``) switches the active model in
one transaction. A failed backfill leaves the old model active with its scores, and the draft says why.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.choices import COMPONENTS, RunStatus, RunTrigger
from assessments.models import (
    AssessmentRun,
    DraftStatus,
    ScoringModel,
    ScoringModelDraft,
    ScoringPreview,
    ScoringPreviewScore,
)
from assessments.periods import Quarter
from assessments.services.runs import (
    TRANSIENT_ERRORS,
    _mark_changes_processed,
    assessment_run_request,
    scores_recompute_request,
    scoring_model_active,
    stale_quarters,
)
from assessments.services.scoring import ComputedScore, scores_compute

logger = logging.getLogger(__name__)

DRAFT_FIELDS = {"name", "description", *ScoringModelDraft.PARAMETERS}
# Previews kept per draft: the newest ones (a failed one never removes a succeeded one).
PREVIEWS_KEPT = 5


# --- drafts ---------------------------------------------------------------------------------------------


def _check_fields(data: dict) -> None:
    unknown = set(data) - DRAFT_FIELDS
    if unknown:
        raise TypeError(f"Unknown fields: {sorted(unknown)}")


def _save(draft: ScoringModelDraft, user) -> ScoringModelDraft:
    draft._history_user = user
    draft.full_clean(exclude=["status", "scoring_model", "backfill_run", "activated_by", "created_by"])
    draft.save()
    return draft


@transaction.atomic
def scoring_model_draft_create(*, user=None, **data) -> ScoringModelDraft:
    """A new draft; invalid parameters raise ``ValidationError`` keyed by field, nothing saved."""
    _check_fields(data)
    return _save(ScoringModelDraft(created_by=user if getattr(user, "is_authenticated", False) else None, **data), user)


def scoring_model_draft_initial() -> dict:
    """What a new draft starts from: the active model's parameters."""
    model = scoring_model_active()
    return {
        "weights": dict(model.weights),
        "half_life_days": model.half_life_days,
        "lookback_quarters": model.lookback_quarters,
        "activity_scale": model.activity_scale,
    }


def _editable(draft: ScoringModelDraft, action: str) -> None:
    if not draft.is_editable:
        raise ValidationError(
            {
                "status": [
                    _("This draft is %(status)s: it can no longer be %(action)s.")
                    % {"status": draft.get_status_display().lower(), "action": action}
                ]
            }
        )


@transaction.atomic
def scoring_model_draft_update(*, draft: ScoringModelDraft, user=None, **data) -> ScoringModelDraft:
    _check_fields(data)
    draft = ScoringModelDraft.objects.select_for_update().get(pk=draft.pk)
    _editable(draft, _("changed"))
    for name, value in data.items():
        setattr(draft, name, value)
    return _save(draft, user)


@transaction.atomic
def scoring_model_draft_delete(*, draft: ScoringModelDraft, user=None) -> None:
    draft = ScoringModelDraft.objects.select_for_update().get(pk=draft.pk)
    if draft.status == DraftStatus.ACTIVATING or draft.scoring_model_id:
        raise ValidationError(
            {"status": [_("A draft that was activated, or is being activated, is part of the model history.")]}
        )
    draft._history_user = user
    draft.delete()


# --- previews -------------------------------------------------------------------------------------------


def preview_quarter() -> Quarter:
    """The quarter a preview scores: the last finished one."""
    return Quarter.current().shift(-1)


@transaction.atomic
def scoring_preview_request(*, draft: ScoringModelDraft, user=None) -> ScoringPreview:
    """Queue a preview of the draft's current parameters against the active model (sent after commit)."""
    draft = ScoringModelDraft.objects.select_for_update().get(pk=draft.pk)
    draft.full_clean(exclude=["status", "scoring_model", "backfill_run", "activated_by", "created_by"])
    preview = ScoringPreview.objects.create(
        draft=draft,
        parameters=draft.parameters,
        baseline_model=scoring_model_active(),
        period=preview_quarter().start,
        requested_by=user if getattr(user, "is_authenticated", False) else None,
    )
    preview_id = preview.pk

    def send():
        from assessments.tasks import preview_scoring_model

        try:
            preview_scoring_model.delay(str(preview_id))
        except Exception as exc:
            logger.exception("Could not start scoring preview %s", preview_id)
            if preview_scoring_model.app.conf.task_always_eager:
                return  # executed here; its failure is recorded on the preview
            ScoringPreview.objects.filter(pk=preview_id, status=RunStatus.QUEUED).update(
                status=RunStatus.FAILED,
                finished_at=timezone.now(),
                error=_("The task queue could not be reached (%(error)s); ask for the preview again.")
                % {"error": type(exc).__name__},
            )

    transaction.on_commit(send)
    return preview


def ranks_of(overall: dict[int, float | None]) -> dict[int, int]:
    """Competition ranks (1 = highest overall; equal scores share a rank, the next rank skips), for the
    partners that have an overall score."""
    scored = sorted((value for value in overall.values() if value is not None), reverse=True)
    first_position: dict[float, int] = {}
    for position, value in enumerate(scored, start=1):
        first_position.setdefault(value, position)
    return {pid: first_position[value] for pid, value in overall.items() if value is not None}


def _preview_rows(preview: ScoringPreview, drafted: dict[int, ComputedScore], active: dict[int, ComputedScore]):
    draft_overall = {pid: score.overall for pid, score in drafted.items()}
    active_overall = {pid: score.overall for pid, score in active.items()}
    draft_ranks, active_ranks = ranks_of(draft_overall), ranks_of(active_overall)
    for partner_id in sorted(set(drafted) | set(active)):
        score = drafted.get(partner_id)
        yield ScoringPreviewScore(
            preview=preview,
            partner_id=partner_id,
            overall=score.overall if score else None,
            engagement_count=score.engagement_count if score else 0,
            report_count=score.report_count if score else 0,
            confidence=score.confidence if score else ScoringPreviewScore._meta.get_field("confidence").default,
            rank=draft_ranks.get(partner_id),
            baseline_overall=active_overall.get(partner_id),
            baseline_rank=active_ranks.get(partner_id),
            **(score.components if score else dict.fromkeys(COMPONENTS)),
        )


def scoring_preview_execute(*, preview_id, will_retry: bool = False) -> ScoringPreview:
    """Score the preview's quarter with the draft's parameters and with the active model, and store both
    side by side. Idempotent (a succeeded preview is left as it is; a repeated one rewrites its own rows).
    An error marks this preview failed (back to queued while the task retries a transient error); earlier
    previews are never touched by a failure."""
    preview = ScoringPreview.objects.select_related("baseline_model").get(pk=preview_id)
    if preview.status == RunStatus.SUCCEEDED:
        return preview
    ScoringPreview.objects.filter(pk=preview.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), finished_at=None, error=""
    )
    try:
        quarter = preview.quarter
        model = ScoringModel(**preview.parameters)
        drafted = scores_compute(quarter=quarter, model=model)
        active = scores_compute(quarter=quarter, model=preview.baseline_model)
        with transaction.atomic():
            ScoringPreviewScore.objects.filter(preview=preview).delete()
            ScoringPreviewScore.objects.bulk_create(_preview_rows(preview, drafted, active), batch_size=1000)
            ScoringPreview.objects.filter(pk=preview.pk).update(
                status=RunStatus.SUCCEEDED, finished_at=timezone.now(), partners_scored=len(drafted)
            )
            kept = ScoringPreview.objects.filter(draft_id=preview.draft_id).order_by("-created_at")[:PREVIEWS_KEPT]
            ScoringPreview.objects.filter(draft_id=preview.draft_id, status=RunStatus.SUCCEEDED).exclude(
                pk__in=list(kept.values_list("pk", flat=True))
            ).delete()
    except Exception as exc:
        retrying = will_retry and isinstance(exc, TRANSIENT_ERRORS)
        message = f"{type(exc).__name__}: {exc}".strip()[:4000]
        ScoringPreview.objects.filter(pk=preview.pk).update(
            status=RunStatus.QUEUED if retrying else RunStatus.FAILED,
            finished_at=None if retrying else timezone.now(),
            error=(_("Attempt failed, it will be retried: %(error)s") % {"error": message}) if retrying else message,
        )
        raise
    preview.refresh_from_db()
    return preview


# --- activation -----------------------------------------------------------------------------------------


def backfill_quarters(model: ScoringModel) -> list[Quarter]:
    """What an activation computes: the model's look-back window ending with the current quarter."""
    return Quarter.current().window(model.lookback_quarters)


@transaction.atomic
def scoring_model_draft_activate(*, draft: ScoringModelDraft, user=None) -> ScoringModelDraft:
    """Make the draft the next scoring-model version and queue the backfill of its look-back window; the
    active model stays active (and its scores shown) until that backfill succeeds. A draft whose activation
    failed may be activated again: it keeps its version and runs the backfill again."""
    # Holding the active model's row serialises activations (and their version numbers).
    active = ScoringModel.objects.select_for_update().filter(is_active=True).first()
    draft = ScoringModelDraft.objects.select_for_update().get(pk=draft.pk)
    _editable(draft, _("activated"))
    if ScoringModelDraft.objects.filter(status=DraftStatus.ACTIVATING).exclude(pk=draft.pk).exists():
        raise ValidationError(
            {"status": [_("Another draft is being activated; wait until its scores have been computed.")]}
        )
    draft.full_clean(exclude=["status", "scoring_model", "backfill_run", "activated_by", "created_by"])
    if active is None:
        scoring_model_active()  # raises the "no active model" error the pages and API know
    model = draft.scoring_model
    if model is None:
        latest = ScoringModel.objects.aggregate(v=Max("version"))["v"] or 0
        model = draft.as_scoring_model(version=latest + 1, is_active=False)
        model._history_user = user
        model.full_clean()
        model.save()
    run = assessment_run_request(
        trigger=RunTrigger.MODEL_ACTIVATION,
        periods=[str(q) for q in backfill_quarters(model)],
        requested_by=user,
        scoring_model=model,
    )
    draft.scoring_model = model
    draft.backfill_run = run
    draft.status = DraftStatus.ACTIVATING
    draft.activated_by = user if getattr(user, "is_authenticated", False) else None
    draft.activation_requested_at = timezone.now()
    draft.activation_error = ""
    draft._history_user = user
    draft.save()
    return draft


def scoring_model_activation_settle(*, run_id=None) -> ScoringModelDraft | None:
    """Finish the activation whose backfill run ended: its model becomes the active one (succeeded) or the
    draft records the failure and the old model stays (failed). Without ``run_id``, every activation whose
    run has ended (beat asks, in case the run's announcement was lost). Returns the last draft settled."""
    drafts = ScoringModelDraft.objects.filter(status=DraftStatus.ACTIVATING)
    if run_id is not None:
        drafts = drafts.filter(backfill_run_id=run_id)
    settled = None
    for draft_id in list(drafts.values_list("pk", flat=True)):
        settled = _settle(draft_id) or settled
    return settled


@transaction.atomic
def _settle(draft_id) -> ScoringModelDraft | None:
    draft = (
        ScoringModelDraft.objects.select_for_update(of=("self",))
        .select_related("scoring_model", "backfill_run")
        .filter(pk=draft_id, status=DraftStatus.ACTIVATING)
        .first()
    )
    if draft is None:
        return None
    run: AssessmentRun | None = draft.backfill_run
    now = timezone.now()
    if run is None or run.status == RunStatus.FAILED:
        draft.status = DraftStatus.FAILED
        draft.activation_error = (run.error if run else "") or _("The backfill run was lost.")
    elif run.status == RunStatus.SUCCEEDED:
        model = draft.scoring_model
        for previous in ScoringModel.objects.select_for_update().filter(is_active=True).exclude(pk=model.pk):
            previous.is_active = False
            previous._history_user = draft.activated_by
            previous.save(update_fields=["is_active"])
        model.is_active = True
        model._history_user = draft.activated_by
        model.save(update_fields=["is_active"])
        draft.status = DraftStatus.ACTIVATED
        draft.activated_at = now
        _catch_up(run, model)
    else:
        return None
    draft.save(update_fields=["status", "activation_error", "activated_at", "updated_at"])
    return draft


def _catch_up(run: AssessmentRun, model: ScoringModel) -> None:
    """The new model is active: the changes its backfill covered are scored, and the changes the old
    model's runs took in while the backfill ran are recomputed with the new one."""
    from engagements.models import PartnerChange

    quarters = [Quarter.parse(p) for p in run.periods]
    _mark_changes_processed(run, quarters)
    later = PartnerChange.objects.filter(changed_at__gte=run.started_at or run.created_at)
    partner_ids, stale = set(), set()
    for partner_id, first_day, last_day in later.values_list("partner_id", "first_day", "last_day").distinct()[:5000]:
        partner_ids.add(partner_id)
        stale.update(stale_quarters(first_day=first_day, last_day=last_day, lookback=model.lookback_quarters))
    if partner_ids and stale:
        scores_recompute_request(partner_ids=partner_ids, quarters=stale)
