"""How the assessments app hears that engagement data changed (the engagements app never imports us)."""

import logging

from django.dispatch import receiver

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
