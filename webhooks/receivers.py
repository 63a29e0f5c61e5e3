"""How webhooks hear of engagement changes and finished runs (announced after commit; nobody imports us)."""

import logging

from django.dispatch import receiver

from assessments.signals import assessment_run_finished
from engagements.signals import engagement_event

logger = logging.getLogger(__name__)


@receiver(engagement_event, dispatch_uid="webhooks.engagement_event")
def queue_engagement_event(sender, *, event, engagement_ids, was_restricted=None, **kwargs):
    """The change is committed: a failure here must not turn the planner's save into an error."""
    from webhooks.services import engagement_events_queue

    try:
        engagement_events_queue(event=event, engagement_ids=engagement_ids, was_restricted=was_restricted)
    except Exception:
        logger.exception("Could not queue webhook deliveries for engagements %s", list(engagement_ids)[:20])


@receiver(assessment_run_finished, dispatch_uid="webhooks.run_finished")
def queue_run_finished(sender, *, run_id, **kwargs):
    from webhooks.services import run_events_queue

    try:
        run_events_queue(run_id=run_id)
    except Exception:
        logger.exception("Could not queue webhook deliveries for run %s", run_id)
