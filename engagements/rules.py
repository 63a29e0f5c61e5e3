"""The rules of engagements, each defined once and asked by every path: pages (buttons, form choices),
API, import, admin and the services.

- Which fields an engagement, a participant and a report have, and their limits, come from the model
  (``engagements/models.py``: max_length, validators, choices): adding a field or changing a limit there
  changes every path.
- What the model cannot say stands here: the reference pattern, and the status policy (which moves an
  engagement may make for its status, report and dates, and why the others are refused).
"""

from __future__ import annotations

import datetime
import functools
import re

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import ADMIN
from engagements.choices import SCORED_STATUSES, STATUS_ORDER, Status
from engagements.models import AfterActionReport, Engagement, Participation

REFERENCE_PATTERN = re.compile(r"^ENG-(\d{4})-(\d{6})$")

# Kept by the services themselves (who, when, version, deletion), never given as input.
_BOOKKEEPING = {
    "id",
    "created_by",
    "updated_by",
    "version",
    "deleted_at",
    "deleted_by",
    "deletion_reason",
    "import_batch",
}


def _input_fields(model, *, leave_out=()) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.editable and f.name not in _BOOKKEEPING and f.name not in leave_out
    ]


# The engagement's own fields as the services, forms, API and files take them, in the model's order.
ENGAGEMENT_FIELDS = _input_fields(Engagement)
PARTICIPANT_FIELDS = _input_fields(Participation, leave_out={"engagement"})
AAR_FIELDS = _input_fields(AfterActionReport, leave_out={"engagement", "submitted_by", "submitted_at"})
# The most engagements one ``POST /api/v1/engagements/bulk/`` may create (all or nothing, in one
# transaction); a longer list is refused with a 400. Larger loads go through the import (files, in batches).
BULK_CREATE_MAX = 500


def bulk_size_problem(count: int) -> str | None:
    """Why a bulk create of ``count`` engagements is refused as a whole, or None."""
    if count < 1:
        return _("Send a list of one or more engagements.")
    if count > BULK_CREATE_MAX:
        return _(
            "Send at most %(max)d engagements in one request (this one has %(count)d); split the list, or import "
            "a file for larger loads."
        ) % {"max": BULK_CREATE_MAX, "count": count}
    return None


# What a new engagement must be given (fields without a default that may not be blank).
REQUIRED_FIELDS = [
    name
    for name in ENGAGEMENT_FIELDS
    if not Engagement._meta.get_field(name).blank and not Engagement._meta.get_field(name).has_default()
]


def default(model, name: str):
    """The value a field takes when none is given (planned, unclassified, empty text, none)."""
    fixed = _fixed_defaults(model)
    return fixed[name] if name in fixed else model._meta.get_field(name).get_default()


def defaults(model) -> dict:
    """Every input field's default, by name (fresh values where the default is made by a function)."""
    return {
        **_fixed_defaults(model),
        **{name: model._meta.get_field(name).get_default() for name in _made_defaults(model)},
    }


@functools.cache
def _fixed_defaults(model) -> dict:
    fields = [model._meta.get_field(name) for name in _input_fields(model, leave_out={"engagement"})]
    return {f.name: f.get_default() for f in fields if not (f.has_default() and callable(f.default))}


@functools.cache
def _made_defaults(model) -> tuple[str, ...]:
    fields = [model._meta.get_field(name) for name in _input_fields(model, leave_out={"engagement"})]
    return tuple(f.name for f in fields if f.has_default() and callable(f.default))


# --- the status policy ------------------------------------------------------------------------------------

# DESIGN "Status and dates": in_progress needs start_date <= today, completed needs end_date <= today, a
# report needs start_date <= today. Enforced for moves and new reports after creation only: a new
# engagement may be created in any status, since history is often entered after the fact.
DATE_RULES = True


def _label(status: str) -> str:
    return str(dict(Status.choices).get(status, status)).lower()


def may_reopen(role: str | None) -> bool:
    """Who may reopen a cancelled engagement (as planned, with a reason): admins only."""
    return role == ADMIN


# Cancelling and reopening record their reason in the history, whose reason column holds this many characters.
REASON_MAX_LENGTH = 100


def needs_reason(current: str | None, wanted: str) -> bool:
    """Whether moving from ``current`` to ``wanted`` must say why: cancelling, and reopening a cancelled one."""
    if current is None or current == wanted:
        return False
    return wanted == Status.CANCELLED or current == Status.CANCELLED


def reason_refusal(reason: str | None) -> str | None:
    """Why this reason for cancelling or reopening is not accepted; None if it is."""
    if not (reason or "").strip():
        return _("This field is required.")
    if len(reason.strip()) > REASON_MAX_LENGTH:
        return _("Keep the reason to %(n)s characters or fewer.") % {"n": REASON_MAX_LENGTH}
    return None


def _forward_moves(current: str, *, may_reopen: bool = False) -> list[str]:
    """Any later step of the life cycle, or cancelled; none from completed; from cancelled only back to
    planned, and only for those who ``may_reopen``."""
    if current == Status.CANCELLED:
        return [Status.PLANNED] if may_reopen else []
    if current == Status.COMPLETED:
        return []
    index = STATUS_ORDER.index(current)
    return [*STATUS_ORDER[index + 1 :], Status.CANCELLED]


def _today(today: datetime.date | None) -> datetime.date:
    return today or timezone.localdate()


def _move_refusal(current, wanted, *, has_report, start_date, end_date, today, may_reopen=False) -> str | None:
    allowed = _forward_moves(current, may_reopen=may_reopen)
    if wanted not in allowed:
        if current == Status.CANCELLED and wanted == Status.PLANNED:
            return _(
                "Only an administrator may reopen a cancelled engagement, with a reason, on its page or with the "
                "API's status action."
            )
        if not allowed:
            return _("A %(current)s engagement cannot change status any more.") % {"current": _label(current)}
        return _("Cannot move from %(current)s to %(wanted)s; allowed: %(allowed)s.") % {
            "current": _label(current),
            "wanted": _label(wanted),
            "allowed": ", ".join(_label(s) for s in allowed),
        }
    if has_report and wanted not in SCORED_STATUSES:
        return _("This engagement has an after-action report: it took place and cannot be cancelled.")
    if DATE_RULES and wanted == Status.IN_PROGRESS and start_date and start_date > today:
        return _("It cannot be in progress before it starts (%(date)s).") % {"date": start_date.isoformat()}
    if DATE_RULES and wanted == Status.COMPLETED and end_date and end_date > today:
        return _("It cannot be completed before it ends (%(date)s).") % {"date": end_date.isoformat()}
    return None


def status_refusal(
    *,
    current: str | None,
    wanted: str,
    has_report: bool,
    start_date: datetime.date | None,
    end_date: datetime.date | None,
    today: datetime.date | None = None,
    may_reopen: bool = False,
    reason: str | None = None,
) -> str | None:
    """Why an engagement in ``current`` (None: being created) may not take ``wanted``; None if it may.

    Afterwards only forward moves, or cancelled from any state but completed; never cancelled once it has an
    after-action report (the report says it took place); and the dates must allow the new status. A cancelled
    engagement may go back to planned if the user ``may_reopen``. Cancelling and reopening need a reason:
    ``reason`` None means the path offers none (an edit, an import), and the move is refused here; a blank
    or too long one is refused by ``reason_refusal``, beside the reason field."""
    if current is None or wanted == current:
        return None
    refusal = _move_refusal(
        current,
        wanted,
        has_report=has_report,
        start_date=start_date,
        end_date=end_date,
        today=_today(today),
        may_reopen=may_reopen,
    )
    if refusal is None and reason is None and needs_reason(current, wanted):
        if wanted == Status.CANCELLED:
            return _(
                "Cancelling needs a reason, which cannot be given here: use the Cancel button on the "
                "engagement's page, or the API's status action with a reason."
            )
        return _(
            "Reopening needs a reason, which cannot be given here: use the Reopen button on the engagement's "
            "page, or the API's status action with a reason."
        )
    return refusal


def status_moves(
    *,
    current: str,
    has_report: bool,
    start_date: datetime.date | None,
    end_date: datetime.date | None,
    today: datetime.date | None = None,
    may_reopen: bool = False,
    with_reason: bool = True,
) -> list[str]:
    """The statuses an engagement in ``current`` may move to now (the buttons; the edit form, which asks no
    reason, offers those without ``with_reason``)."""
    today = _today(today)
    return [
        wanted
        for wanted in _forward_moves(current, may_reopen=may_reopen)
        if _move_refusal(
            current,
            wanted,
            has_report=has_report,
            start_date=start_date,
            end_date=end_date,
            today=today,
            may_reopen=may_reopen,
        )
        is None
        and (with_reason or not needs_reason(current, wanted))
    ]


# Planned or approved engagements whose end date has passed: they took place (or did not) and their status
# says otherwise. Listed on the planner's home page like overdue reports, and a list filter.
STALE_STATUSES = (Status.PLANNED, Status.APPROVED)


def needs_update(today: datetime.date | None = None) -> Q:
    """The engagements whose status needs an update: still planned or approved after their end date."""
    return Q(status__in=STALE_STATUSES, end_date__lt=_today(today))


def report_refusal(
    *, status: str, start_date: datetime.date | None, new: bool, today: datetime.date | None = None
) -> str | None:
    """Why an engagement may not carry a (``new``: newly written) after-action report; None if it may."""
    if status not in SCORED_STATUSES:
        return _("An after-action report needs the engagement to be in progress or completed.")
    if DATE_RULES and new and start_date and start_date > _today(today):
        return _("An after-action report needs the engagement to have started (%(date)s).") % {
            "date": start_date.isoformat()
        }
    return None


def report_removal_refusal() -> str:
    """A report, once written, stays: its ratings feed the scores; its fields may be changed."""
    return _("An after-action report cannot be removed; change its fields instead.")


# --- saved filters --------------------------------------------------------------------------------------

# Parameters of the list that are not a filter: the page shown and the export format are not saved.
SAVED_FILTER_DROPPED = ("page", "export", "format")
SAVED_FILTER_KEPT = ("page_size",)


def may_change_saved_filter(user, saved_filter) -> bool:
    """Only its owner renames, shares or deletes a saved filter; others may only apply the shared ones."""
    return user is not None and user.is_authenticated and saved_filter.owner_id == user.pk


# --- calendar -------------------------------------------------------------------------------------------

# A long mission (a peacekeeping rotation, a standing advisory mission) runs for more days than this. The
# calendar draws long missions in their own lane above the grid instead of in every day they cover, where
# four of them would fill each cell of a month.
LONG_MISSION_DAYS = 31


def is_long_mission(start_date: datetime.date, end_date: datetime.date) -> bool:
    """Whether an engagement from ``start_date`` to ``end_date`` (both included) is a long mission."""
    return (end_date - start_date).days + 1 > LONG_MISSION_DAYS
