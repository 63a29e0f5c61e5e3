"""What the assessments app announces. Listeners (webhooks) subscribe; this app imports none of them.

``assessment_run_finished`` is sent after the transaction that recorded a run's end commits (succeeded, or
failed for good), with the run's id; the alerts that run raised carry ``raised_at`` at or after its
``started_at``.
"""

from django.dispatch import Signal

# kwargs: run_id (uuid)
assessment_run_finished = Signal()
