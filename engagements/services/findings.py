"""Dismissing a deconfliction finding: a planner looked at the pair of engagements and says why it is fine."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from engagements.models import Engagement, FindingDismissal
from engagements.services.engagements import scope_check
from engagements.services.inputs import Problems, clean_value


@transaction.atomic
def finding_dismiss(*, engagement: Engagement, other_id, note: str, user) -> FindingDismissal:
    """Record that the finding between ``engagement`` and the engagement ``other_id`` was dismissed by
    ``user`` with ``note``; it is not shown again for that pair, from either side. Dismissing it again keeps
    the first record (who dismissed it first, and why). Only a planner of the engagement's units (its
    writers) may: a finding is part of planning that engagement."""
    scope_check(user, engagement.owner_unit_id)
    problems = Problems()
    note = clean_value(FindingDismissal, "note", (note or "").strip(), lambda m: problems.add("note", m))
    if not note and "note" not in problems.fields:
        problems.add("note", _("Say why this finding is not a concern."))
    try:
        other_id = int(other_id)
    except (TypeError, ValueError):
        other_id = None
    # Only an engagement the user may see: a viewer-invisible one cannot be named here either.
    if (
        other_id is None
        or other_id == engagement.pk
        or not Engagement.objects.visible_to(user).filter(pk=other_id).exists()
    ):
        problems.add("engagement", _("Choose one of the engagements this one has a finding with."))
    problems.raise_if_any()
    first, second = sorted((engagement.pk, other_id))
    dismissal, _created = FindingDismissal.objects.get_or_create(
        first_id=first, second_id=second, defaults={"note": note, "dismissed_by": user}
    )
    return dismissal
