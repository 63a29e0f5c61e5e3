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
