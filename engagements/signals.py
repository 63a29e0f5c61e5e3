"""What the engagements app announces. Listeners (the assessments app) subscribe; this app imports none.

``engagement_data_changed`` is sent after the transaction that changed the data commits, with the ids
of the partners whose engagement data changed and the span of days the change touches. A transaction that
changed many engagements at once (an import) sends it once, with every distinct span in ``spans``;
``first_day`` and ``last_day`` then bound them all. ``partner_ids`` is empty for an engagement without
partners: no score changes, but the counts of engagements per quarter do.
"""

from django.dispatch import Signal

# kwargs: partner_ids (set[int]), first_day (date), last_day (date), spans (list of (first_day, last_day))
engagement_data_changed = Signal()

# Sent after commit when engagements were created, updated or deleted (webhooks listen).
# kwargs: event ("created", "updated" or "deleted"), engagement_ids (list[int]), was_restricted (dict[int, bool]:
# for "updated", whether each engagement was restricted before the change; empty otherwise)
engagement_event = Signal()

# Four-eyes approval (engagements.services.approvals), sent after the transaction commits; the notifications
# listen. kwargs: engagement_id (int), requested_by_id (int), approver_ids (list[int]: the approvers of the
# owner unit and of the units above it, never the requester)
approval_requested = Signal()

# kwargs: engagement_id (int), decided_by_id (int), approved (bool), comment (str), recipient_ids (list[int]:
# who asked for the approval, who created the engagement and its point of contact, without the decider)
approval_decided = Signal()
