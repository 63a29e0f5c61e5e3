"""The change outbox: which partners' scores a write made stale.

Every engagement write records ``PartnerChange`` rows in its own transaction and announces
``engagement_data_changed`` after commit; the assessments app, which listens, schedules the recompute.
Engagement code never imports assessments (CONVENTIONS.md, point 11).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction

from engagements.models import Engagement, PartnerChange
from engagements.signals import engagement_data_changed, engagement_event


@dataclass
class _ChangeSet:
    partner_ids: set[int] = field(default_factory=set)
    spans: set[tuple[datetime.date, datetime.date]] = field(default_factory=set)

    def add(self, partner_ids: Iterable[int], spans: Iterable[tuple[datetime.date, datetime.date]]) -> None:
        self.partner_ids.update(partner_ids)
        self.spans.update(spans)

    def send_after_commit(self) -> None:
        if not self.spans:
            return
        partner_ids, spans = set(self.partner_ids), sorted(self.spans)
        transaction.on_commit(
            lambda: engagement_data_changed.send(
                sender=Engagement,
                partner_ids=partner_ids,
                first_day=min(first for first, _last in spans),
                last_day=max(last for _first, last in spans),
                spans=spans,
            )
        )


class _Coalesced(threading.local):
    changes: _ChangeSet | None = None


_coalesced = _Coalesced()


@contextmanager
def changes_coalesced():
    """Inside this block (in a transaction), engagement changes are announced once, after commit, for all of
    them: an import of 100,000 rows queues one recompute instead of one per batch or per updated row. On an
    error nothing is announced (the transaction rolls back with it)."""
    if _coalesced.changes is not None:  # already coalescing: the outer block announces
        yield
        return
    _coalesced.changes = _ChangeSet()
    try:
        yield
        changes = _coalesced.changes
    finally:
        _coalesced.changes = None
    changes.send_after_commit()


def announce_changes(partner_ids: set[int], spans: Iterable[tuple[datetime.date, datetime.date]]) -> None:
    """Announce the change after commit, or add it to the enclosing ``changes_coalesced`` block's."""
    if _coalesced.changes is not None:
        _coalesced.changes.add(partner_ids, spans)
        return
    changes = _ChangeSet()
    changes.add(partner_ids, spans)
    changes.send_after_commit()


def record_partner_changes(*, engagement: Engagement | None, partner_ids: set[int], first_day, last_day) -> None:
    """Record which partners' scores the change makes stale, and announce it after commit. A change to an
    engagement without partners is announced too, with no partner: it moves the overview's counts."""
    partner_ids = {pid for pid in partner_ids if pid}
    if first_day is None or last_day is None:
        return
    if not partner_ids:
        announce_changes(set(), [(first_day, last_day)])
        return
    PartnerChange.objects.bulk_create(
        [
            PartnerChange(partner_id=pid, engagement=engagement, first_day=first_day, last_day=last_day)
            for pid in partner_ids
        ]
    )
    announce_changes(partner_ids, [(first_day, last_day)])


def engagement_changed(
    engagement: Engagement, *, partner_ids: Iterable[int] = (), span=None, current_partner_ids=None
) -> None:
    """An engagement's data changed: its partners (and ``partner_ids``, e.g. partners it had before) are stale
    over its days (and ``span``, e.g. the days it had before). ``current_partner_ids``: its partners now, when
    the caller knows them (read otherwise)."""
    first, last = engagement.start_date, engagement.end_date
    if span is not None:
        first, last = min(first, span[0]), max(last, span[1])
    if current_partner_ids is None:
        current_partner_ids = scored_partner_ids(engagement)
    record_partner_changes(
        engagement=engagement,
        partner_ids=set(partner_ids) | set(current_partner_ids),
        first_day=first,
        last_day=last,
    )


def scored_partner_ids(engagement: Engagement) -> set[int]:
    return set(engagement.participations.values_list("partner_id", flat=True))


def announce_engagement_event(event: str, engagement_ids: Iterable[int], *, was_restricted: bool | None = None) -> None:
    """Announce after commit that engagements were ``created``, ``updated`` or ``deleted``; for an update,
    ``was_restricted`` says whether the (single) engagement was restricted before it."""
    ids = list(engagement_ids)
    before = {ids[0]: was_restricted} if was_restricted is not None and len(ids) == 1 else {}
    transaction.on_commit(
        lambda: engagement_event.send(sender=Engagement, event=event, engagement_ids=ids, was_restricted=before)
    )
