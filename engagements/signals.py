"""What the engagements app announces. Listeners (the assessments app) subscribe; this app imports none.

``engagement_data_changed`` is sent after the transaction that changed the data commits, with the ids
of the partners whose engagement data changed and the span of days the change touches.
"""

from django.dispatch import Signal

engagement_data_changed = Signal()  # kwargs: partner_ids (set[int]), first_day (date), last_day (date)
