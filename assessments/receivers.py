"""How the assessments app hears that engagement data changed (the engagements app never imports us)."""

import logging

from django.dispatch import receiver

from assessments.signals import assessment_run_finished
from engagements.signals import engagement_data_changed

logger = logging.getLogger(__name__)


@receiver(engagement_data_changed, dispatch_uid="assessments.recompute_on_engagement_change")
def recompute_on_engagement_change(sender, *, partner_ids, first_day, last_day, spans=None, **kwargs):
    """Queue one coalesced recompute of the affected partners and quarters.

    The change is already committed: a failure here must not turn the planner's save into an error. The
    change stays recorded as pending (``PartnerChange``) and the nightly run recomputes the quarters.
    """
    from assessments.services import scores_mark_stale

    try:
        scores_mark_stale(partner_ids=partner_ids, first_day=first_day, last_day=last_day, spans=spans)
    except Exception:
        logger.exception("Could not queue the recompute for partners %s", sorted(partner_ids or []))


@receiver(assessment_run_finished, dispatch_uid="assessments.settle_model_activation")
def settle_model_activation(sender, *, run_id, **kwargs):
    """A backfill of a scoring model being activated ended: switch to it, or record why not. A failure here
    is retried by beat (``resend_waiting_runs``), so it must not fail the run's task."""
    from assessments.services.whatif import scoring_model_activation_settle

    try:
        scoring_model_activation_settle(run_id=run_id)
    except Exception:
        logger.exception("Could not settle the scoring-model activation of run %s", run_id)


@receiver(engagement_data_changed, dispatch_uid="assessments.dashboards_stale_on_engagement_change")
def dashboards_stale_on_engagement_change(sender, *, partner_ids, **kwargs):
    """Engagement writes (bulk ones and imports included), after commit: the pages that read these
    partners' engagements live (a partner's assessment, counts of quarters no run has counted) are stale;
    the other dashboards wait for the run the write queued (core/page_cache.py)."""
    from core.page_cache import engagements_changed

    engagements_changed(partner_ids or ())


@receiver(assessment_run_finished, dispatch_uid="assessments.dashboards_stale_on_run_finished")
def dashboards_stale_on_run_finished(sender, **kwargs):
    """A run ended, after its commit: every dashboard shows scores, so every cached copy is stale."""
    from core.page_cache import SCORES, tags_bump

    tags_bump([SCORES])
