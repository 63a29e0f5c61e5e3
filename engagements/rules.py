"""The rules of engagements, each defined once and asked by every path: pages (buttons, form choices),
API, import, admin and the services.

- Which fields an engagement, a participant and a report have, and their limits, come from the model
  (``engagements/models.py``: max_length, validators, choices): adding a field or changing a limit there
  changes every path.
- What the model cannot say stands here: the reference pattern, the status policy (which moves an
  engagement may make for its status, report and dates, and why the others are refused), the unit scope
  (who writes which engagements) and four-eyes approval (who approves which).
"""

from __future__ import annotations

import datetime
import functools
import re

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Unit
from core.roles import ADMIN, APPROVE_ENGAGEMENT, role_of
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


# Fields a new engagement takes from the user who creates it when not given (``default_owner_unit``).
FROM_CREATOR = {"owner_unit"}
# What a new engagement must be given (fields without a default that may not be blank).
REQUIRED_FIELDS = [
    name
    for name in ENGAGEMENT_FIELDS
    if not Engagement._meta.get_field(name).blank
    and not Engagement._meta.get_field(name).has_default()
    and name not in FROM_CREATOR
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
    planned, and only for those who ``may_reopen``. Never to approved: approval is its own act, four-eyes
    (``approval_refusal``), on the page's Approve button or the API's approve action."""
    if current == Status.CANCELLED:
        return [Status.PLANNED] if may_reopen else []
    if current == Status.COMPLETED:
        return []
    index = STATUS_ORDER.index(current)
    return [s for s in [*STATUS_ORDER[index + 1 :], Status.CANCELLED] if s != Status.APPROVED]


def _today(today: datetime.date | None) -> datetime.date:
    return today or timezone.localdate()


def _move_refusal(current, wanted, *, has_report, start_date, end_date, today, may_reopen=False) -> str | None:
    allowed = _forward_moves(current, may_reopen=may_reopen)
    if wanted not in allowed:
        if wanted == Status.APPROVED and current == Status.PLANNED:
            return APPROVE_ELSEWHERE()
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


# --- the unit scope: who writes which engagements ---------------------------------------------------------

# The user's units and every unit below them, in one recursive query (PostgreSQL and SQLite alike).
_UNITS_BELOW_MEMBER = """
WITH RECURSIVE scope(id) AS (
    SELECT m.unit_id FROM {members} m WHERE m.user_id = %s
    UNION
    SELECT u.id FROM {units} u JOIN scope s ON u.parent_id = s.id
)
SELECT id FROM scope
"""
_UNITS_BELOW = """
WITH RECURSIVE scope(id) AS (
    SELECT u.id FROM {units} u WHERE u.id IN ({ids})
    UNION
    SELECT u.id FROM {units} u JOIN scope s ON u.parent_id = s.id
)
SELECT id FROM scope
"""
_UNITS_ABOVE = """
WITH RECURSIVE line(id, parent_id) AS (
    SELECT u.id, u.parent_id FROM {units} u WHERE u.id = %s
    UNION
    SELECT u.id, u.parent_id FROM {units} u JOIN line l ON u.id = l.parent_id
)
SELECT id FROM line
"""


def _tables() -> dict:
    quote = connection.ops.quote_name
    return {"units": quote(Unit._meta.db_table), "members": quote(Unit.members.through._meta.db_table)}


def _ids(sql: str, params) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def writes_everything(user) -> bool:
    """Admins write (and approve) in every unit; ``None`` is the system itself (demo data, commands)."""
    return user is None or role_of(user) == ADMIN


def member_scope_ids(user) -> set[int]:
    """The ids of ``user``'s units and of every unit below them (whatever the user's role)."""
    if user is None or not getattr(user, "pk", None):
        return set()
    return _ids(_UNITS_BELOW_MEMBER.format(**_tables()), [user.pk])


def writable_unit_ids(user) -> set[int] | None:
    """The units whose engagements ``user`` may write: None means every unit (admins, the system); for
    everyone else their units and the units below them (a planner without a unit writes nothing)."""
    if writes_everything(user):
        return None
    return member_scope_ids(user)


def units_below(unit_ids) -> set[int]:
    """These units and every unit below them (the ``owner_unit`` filter with sub-units)."""
    unit_ids = [int(i) for i in unit_ids]
    if not unit_ids:
        return set()
    return _ids(_UNITS_BELOW.format(ids=", ".join(["%s"] * len(unit_ids)), **_tables()), unit_ids)


def units_above(unit_id: int) -> set[int]:
    """The unit and every unit above it, up to its command (whose approvers approve its engagements)."""
    return _ids(_UNITS_ABOVE.format(**_tables()), [unit_id])


def NO_UNIT() -> str:  # noqa: N802 (a message, translated when asked)
    return _(
        "You belong to no unit, so you cannot write engagements: ask an administrator to add you to your unit."
    )


def unit_write_refusal(user, unit_id: int | None, *, scope: set[int] | None | bool = False) -> str | None:
    """Why ``user`` may not write an engagement owned by the unit ``unit_id``; None if they may. ``scope``:
    ``writable_unit_ids(user)`` when the caller already has it (an import asks once for every row)."""
    if scope is False:
        scope = writable_unit_ids(user)
    if scope is None:
        return None
    if not scope:
        return NO_UNIT()
    if unit_id not in scope:
        unit = Unit.objects.filter(pk=unit_id).values_list("code", flat=True).first() or "?"
        return _(
            "Engagements of unit %(unit)s are written by its planners and those of the units above it; "
            "you write only the engagements of your units and the units below them."
        ) % {"unit": unit}
    return None


def may_write(user, engagement, *, scope: set[int] | None | bool = False) -> bool:
    """Whether ``user``'s units allow them to write ``engagement`` (their role is asked separately)."""
    return unit_write_refusal(user, engagement.owner_unit_id, scope=scope) is None


def default_owner_unit(user) -> Unit | None:
    """The unit a new engagement gets when none is named: the creator's unit when they have exactly one;
    else, for admins and the system, the default unit (settings.DEFAULT_UNIT_CODE); else none (the
    planner of several units must choose)."""
    if user is not None and getattr(user, "pk", None):
        units = list(Unit.objects.filter(members=user)[:2])
        if len(units) == 1:
            return units[0]
    if writes_everything(user):
        from django.conf import settings

        return Unit.objects.filter(code=settings.DEFAULT_UNIT_CODE).first()
    return None


def OWNER_UNIT_NEEDED() -> str:  # noqa: N802
    return _("Choose the unit that owns this engagement.")


def creation_status_refusal(user, status: str | None) -> str | None:
    """Why ``user`` may not create an engagement in ``status``; None if they may. A new engagement may take
    any status (history is often entered after the fact), except approved: approval is four-eyes
    (``approval_refusal``), so a planner's new engagement starts planned and an approver approves it. Those
    who write everything (admins, the system loading history or demo data) may record it approved."""
    if status == Status.APPROVED and not writes_everything(user):
        return _("A new engagement starts as planned; ask an approver to approve it.")
    return None


def creation_statuses(user) -> list[str]:
    """The statuses ``user`` may give a new engagement (the create form's choices)."""
    return [status for status in Status.values if creation_status_refusal(user, status) is None]


# --- four-eyes approval -----------------------------------------------------------------------------------

# What an approver approved: a change to any of these sends an approved engagement back to planned.
APPROVED_FIELDS = ("start_date", "end_date", "host_country")
COMMENT_MAX_LENGTH = 2000


def APPROVE_ELSEWHERE() -> str:  # noqa: N802
    return _(
        "Only an approver of the engagement's unit moves it from planned to approved: with Approve on its page, "
        "or the API's approve action."
    )


def may_approve_role(user) -> bool:
    return user is not None and user.has_perm(APPROVE_ENGAGEMENT)


def approval_refusal(user, engagement, *, scope: set[int] | None | bool = False) -> str | None:
    """Why ``user`` may not approve (or refuse) ``engagement`` now; None if they may: who they are
    (``approver_refusal``), then the engagement's state (``approval_state_refusal``)."""
    return approver_refusal(user, engagement, scope=scope) or approval_state_refusal(engagement)


def approval_state_refusal(engagement) -> str | None:
    """Only a planned, live engagement awaits approval."""
    if engagement.deleted_at is not None:
        return _("This engagement has been deleted.")
    if engagement.status != Status.PLANNED:
        return _("Only a planned engagement awaits approval; this one is %(status)s.") % {
            "status": _label(engagement.status)
        }
    return None


def approver_refusal(user, engagement, *, scope: set[int] | None | bool = False) -> str | None:
    """Why ``user`` may never decide on ``engagement``'s approval; None if they may. Approvers decide for the
    engagements of their units and the units below (admins for all), never one they created themselves:
    four eyes."""
    if not may_approve_role(user):
        return _("Only approvers approve or refuse engagements.")
    if engagement.created_by_id is not None and engagement.created_by_id == user.pk:
        return _("Four eyes: you created this engagement, so another approver must approve it.")
    if scope is False:
        scope = None if role_of(user) == ADMIN else member_scope_ids(user)
    if scope is not None and engagement.owner_unit_id not in scope:
        return _("You approve the engagements of your units and the units below them; this one is not one of them.")
    return None


def approval_request_refusal(user, engagement) -> str | None:
    """Why ``user`` may not ask for ``engagement``'s approval; None if they may: its writers ask, while it is
    planned."""
    return unit_write_refusal(user, engagement.owner_unit_id) or approval_request_state_refusal(engagement)


def approval_request_state_refusal(engagement) -> str | None:
    if engagement.deleted_at is not None:
        return _("This engagement has been deleted.")
    if engagement.status != Status.PLANNED:
        return _("Only a planned engagement can be submitted for approval; this one is %(status)s.") % {
            "status": _label(engagement.status)
        }
    return None


def comment_refusal(comment: str, *, required: bool) -> str | None:
    comment = (comment or "").strip()
    if required and not comment:
        return _("Say why: the planner reads this comment.")
    if len(comment) > COMMENT_MAX_LENGTH:
        return _("Keep the comment to %(n)s characters or fewer.") % {"n": COMMENT_MAX_LENGTH}
    return None


def approval_reset_reason(*, engagement, fields: dict, participants: list[dict] | None, old_participants) -> str:
    """Why a change sends the approved ``engagement`` back to planned ("" if it does not): its dates, host or
    participants (partner, role or personnel) change. ``old_participants``: (partner id, role, personnel)."""
    if engagement.status != Status.APPROVED:
        return ""
    changed = [
        str(Engagement._meta.get_field(name).verbose_name)
        for name in APPROVED_FIELDS
        if name in fields and fields[name] != getattr(engagement, name)
    ]
    if participants is not None:
        new = {(row["partner"].pk, row["role"], row["personnel"]) for row in participants}
        if new != set(old_participants):
            changed.append(str(_("participants")))
    if not changed:
        return ""
    return _("Back to planned, approval needed again: %(fields)s changed.") % {"fields": ", ".join(changed)}
