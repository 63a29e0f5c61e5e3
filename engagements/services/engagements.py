"""Engagement writes: create, update, status, after-action report, delete, bulk create, series.

Each write checks its whole input first with the check-only steps of ``inputs`` (nothing is written when
one problem is found), runs in one transaction, records who acted (history rows carry the user), and
records which partners' scores became stale (``changes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core.copy import IdPool, copy_columns, copy_new, copy_values
from core.history import history_record_created
from core.roles import role_of
from engagements import deconfliction, rules
from engagements.choices import Status
from engagements.extensions import apply_all as extensions_apply
from engagements.extensions import apply_new_all as extensions_apply_new
from engagements.models import (
    AfterActionReport,
    Approval,
    Engagement,
    ExerciseSeries,
    Participation,
    PartnerChange,
)
from engagements.services.changes import (
    announce_changes,
    announce_engagement_event,
    engagement_changed,
    scored_partner_ids,
)
from engagements.services.inputs import (
    CleanEngagement,
    Lookups,
    Problems,
    after_action_clean,
    clean_value,
    engagement_create_clean,
    engagement_update_clean,
    resolve_organizations,
)
from engagements.services.references import ReferenceNumbers, reference_allocate, reference_reserve
from engagements.services.search import SearchNamesBuilder, engagement_search_refresh, search_names_builder
from engagements.services.shape import engagement_shape_write, partner_ids_of, report_facts


@dataclass
class SaveResult:
    engagement: Engagement
    warnings: list[dict] = field(default_factory=list)


class StaleVersionError(ValidationError):
    """The engagement changed since the user loaded it; their save would overwrite someone else's."""


class OutOfScope(PermissionDenied):
    """The user's units do not own the engagement (or own none): the message says why (rules.unit_write_refusal)."""


def scope_check(user, unit_id, *, scope=False) -> None:
    """Refuse a write to an engagement of the unit ``unit_id`` that ``user``'s units do not allow."""
    refusal = rules.unit_write_refusal(user, unit_id, scope=scope)
    if refusal:
        raise OutOfScope(refusal)


def creator_check(user) -> set[int] | None:
    """Before reading a new engagement's input: a planner without a unit writes nothing. Returns the scope."""
    scope = rules.writable_unit_ids(user)
    if scope is not None and not scope:
        raise OutOfScope(rules.NO_UNIT())
    return scope


def with_owner_unit(user, data: dict) -> dict:
    """The input with the creator's default unit when it names none (rules.default_owner_unit)."""
    if data.get("owner_unit") in (None, ""):
        return {**data, "owner_unit": rules.default_owner_unit(user)}
    return data


def creation_checks(user, checked: CleanEngagement, *, scope=False) -> None:
    """What the creator may create: an engagement of their units, in a status they may give a new one
    (``rules.creation_status_refusal``: approved only for admins; approval is four-eyes)."""
    unit = checked.fields.get("owner_unit")
    scope_check(user, unit.pk if unit else None, scope=scope)
    if refusal := rules.creation_status_refusal(user, checked.fields.get("status")):
        raise ValidationError({"status": [refusal]})


def _history_user(instance, user):
    instance._history_user = user
    return instance


def _write_participants(engagement: Engagement, participants: list[dict], user) -> None:
    existing = {p.partner_id: p for p in engagement.participations.all()}
    wanted = {row["partner"].pk: row for row in participants}
    for partner_id, participation in existing.items():
        if partner_id not in wanted:
            _history_user(participation, user).delete()
    for partner_id, row in wanted.items():
        participation = existing.get(partner_id)
        if participation is None:
            _history_user(Participation(engagement=engagement, **row), user).save()
        elif (participation.role, participation.personnel) != (row["role"], row["personnel"]):
            participation.role, participation.personnel = row["role"], row["personnel"]
            _history_user(participation, user).save()


def _write_after_action(engagement: Engagement, values: dict, user) -> AfterActionReport:
    report = AfterActionReport.objects.filter(engagement=engagement).first()
    if report is None:
        values = {"submitted_at": timezone.now(), **{k: v for k, v in values.items() if v is not None}}
        report = AfterActionReport(engagement=engagement, submitted_by=user, **values)
    else:
        for name, value in values.items():
            setattr(report, name, value)
    _history_user(report, user).save()
    return report


@transaction.atomic
def engagement_create(
    *,
    created_by,
    participants: Iterable[Mapping] = (),
    organizations: Iterable = (),
    after_action: Mapping | None = None,
    reference: str | None = None,
    extensions: Mapping | None = None,
    **data,
) -> SaveResult:
    """Create an engagement with its participants, frameworks and (optionally) its after-action report.

    A new engagement may be created in any status (history is often entered after the fact), but approved
    only by an admin (``rules.creation_status_refusal``).
    """
    scope = creator_check(created_by)
    checked = engagement_create_clean(
        participants=participants,
        organizations=organizations,
        after_action=after_action,
        reference=reference,
        extensions=extensions,
        created_by=created_by,
        **with_owner_unit(created_by, data),
    )
    creation_checks(created_by, checked, scope=scope)
    engagement = engagement_create_apply(checked=checked, created_by=created_by)
    return SaveResult(engagement=engagement, warnings=deconfliction.engagement_findings(engagement))


def engagement_create_apply(*, checked: CleanEngagement, created_by) -> Engagement:
    """Write a new engagement that ``engagement_create_clean`` accepted."""
    engagement = Engagement(**checked.fields, created_by=created_by, updated_by=created_by)
    if checked.reference:
        reference_reserve(reference=checked.reference)
        engagement.reference = checked.reference
    else:
        engagement.reference = reference_allocate(year=engagement.start_date.year)[0]
    _history_user(engagement, created_by).save()
    if checked.organizations:
        engagement.organizations.set(checked.organizations)
    _write_participants(engagement, checked.participants, created_by)
    if checked.after_action is not None:
        _write_after_action(engagement, checked.after_action, created_by)
    engagement_shape_write(engagement)  # after the participants, frameworks and report
    engagement_search_refresh(engagement_ids=[engagement.pk])
    extensions_apply(checked.extensions, engagement=engagement, user=created_by)
    engagement_changed(engagement)
    announce_engagement_event("created", [engagement.pk])
    return engagement


def _locked(engagement: Engagement, expected_version: int | None) -> Engagement:
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    if engagement.deleted_at is not None:
        raise ValidationError(_("This engagement has been deleted."))
    if expected_version is not None and int(expected_version) != engagement.version:
        raise StaleVersionError(
            {
                "version": [
                    _(
                        "Someone else saved this engagement while you were editing it (now version %(v)s). Reload it to see their changes, then apply yours again."
                    )
                    % {"v": engagement.version}
                ]
            }
        )
    return engagement


@transaction.atomic
def engagement_update(
    *, engagement: Engagement, updated_by, expected_version: int | None = None, import_batch=None, **changes
) -> SaveResult:
    """Change any subset of an engagement's fields; ``participants``/``organizations`` replace the sets;
    ``after_action`` adds or edits the report (it cannot be removed). ``changes`` are checked by
    ``engagement_update_clean`` on the locked row, then applied; an import names its ``import_batch``."""
    engagement = _locked(engagement, expected_version)
    scope = rules.writable_unit_ids(updated_by)
    scope_check(updated_by, engagement.owner_unit_id, scope=scope)
    checked = engagement_update_check(engagement=engagement, updated_by=updated_by, **changes)
    if checked.fields.get("owner_unit") is not None:
        scope_check(updated_by, checked.fields["owner_unit"].pk, scope=scope)  # nor give it to another unit
    if import_batch is not None:
        engagement.import_batch = import_batch  # saved with the change, in the same history record
    engagement_update_apply(engagement=engagement, checked=checked, updated_by=updated_by)
    return SaveResult(engagement=engagement, warnings=deconfliction.engagement_findings(engagement))


def engagement_update_check(*, engagement: Engagement, updated_by, **changes) -> CleanEngagement:
    """What ``engagement_update`` would refuse, without writing: ``engagement_update_clean`` with what
    ``updated_by`` may do (reopening). Raises one InputError with every problem."""
    return engagement_update_clean(engagement=engagement, may_reopen=rules.may_reopen(role_of(updated_by)), **changes)


# What an engagement's search names are made of besides its participants (services/search.py): a change
# that writes none of them leaves the names as they are, and is saved without rebuilding them.
SEARCH_NAMES_FIELDS = frozenset({"host_country", "series"})


def engagement_update_apply(*, engagement: Engagement, checked: CleanEngagement, updated_by) -> None:
    """Write a change that ``engagement_update_clean`` accepted to the locked ``engagement``."""
    old_partners = scored_partner_ids(engagement)
    old_span = (engagement.start_date, engagement.end_date)
    was_restricted = engagement.is_restricted
    reset = rules.approval_reset_reason(
        engagement=engagement,
        fields=checked.fields,
        participants=checked.participants,
        old_participants=engagement.participations.values_list("partner_id", "role", "personnel"),
    )
    for name, value in checked.fields.items():
        setattr(engagement, name, value)
    engagement.updated_by = updated_by
    engagement.version += 1  # the row is locked (select_for_update), so this cannot race
    if checked.reason:
        engagement._change_reason = checked.reason
    if reset and engagement.status == Status.APPROVED:
        # What the approver approved changed: approval is needed again (rules.approval_reset_reason).
        engagement.status = Status.PLANNED
        engagement._change_reason = reset[: rules.REASON_MAX_LENGTH]
        Approval.objects.create(engagement=engagement, action=Approval.Action.RESET, user=updated_by, comment=reset)
    _history_user(engagement, updated_by).save()
    engagement.refresh_from_db()
    if checked.organizations is not None:
        engagement.organizations.set(checked.organizations)
    if checked.participants is not None:
        _write_participants(engagement, checked.participants, updated_by)
    if checked.after_action is not None:
        _write_after_action(engagement, checked.after_action, updated_by)
    if any(written is not None for written in (checked.participants, checked.organizations, checked.after_action)):
        engagement_shape_write(engagement)  # after the participants, frameworks and report
    if checked.participants is not None or SEARCH_NAMES_FIELDS & checked.fields.keys():
        engagement_search_refresh(engagement_ids=[engagement.pk])
    extensions_apply(checked.extensions, engagement=engagement, user=updated_by)
    # The same partners as before unless the participants were written: not read again.
    engagement_changed(
        engagement,
        partner_ids=old_partners,
        span=old_span,
        current_partner_ids=old_partners if checked.participants is None else None,
    )
    announce_engagement_event("updated", [engagement.pk], was_restricted=was_restricted)


def engagement_change_status(
    *, engagement: Engagement, status: str, user, expected_version: int | None = None, reason: str = ""
) -> Engagement:
    """Move an engagement along its life cycle, as the status policy (``engagements.rules``) allows.
    Cancelling, and reopening a cancelled one (admins), need a ``reason``, kept in the history."""
    if status == Engagement.objects.only("status").get(pk=engagement.pk).status:
        return engagement
    return engagement_update(
        engagement=engagement,
        updated_by=user,
        expected_version=expected_version,
        status=status,
        reason=reason or "",
    ).engagement


@transaction.atomic
def after_action_submit(*, engagement: Engagement, user, **data) -> AfterActionReport:
    """Submit or edit the engagement's after-action report (in-progress or completed engagements only)."""
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    scope_check(user, engagement.owner_unit_id)
    has_report = AfterActionReport.objects.filter(engagement=engagement).exists()
    clean = after_action_clean(engagement=engagement, has_report=has_report, **data)
    report = _write_after_action(engagement, clean, user)
    engagement_shape_write(engagement)  # the ratings the runs read from the row
    Engagement.objects.filter(pk=engagement.pk).update(
        version=F("version") + 1, updated_by=user, updated_at=timezone.now()
    )
    engagement_changed(engagement)
    announce_engagement_event("updated", [engagement.pk])
    return report


@transaction.atomic
def engagement_delete(*, engagement: Engagement, user, reason: str) -> Engagement:
    """Delete an engagement: it disappears everywhere but stays recorded with who, when and why."""
    problems = Problems()
    reason = clean_value(Engagement, "deletion_reason", reason, lambda m: problems.add("reason", m))
    if not reason and "reason" not in problems.fields:
        problems.add("reason", _("This field is required."))
    problems.raise_if_any()
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    if engagement.deleted_at is not None:
        return engagement
    scope_check(user, engagement.owner_unit_id)
    engagement.deleted_at = timezone.now()
    engagement.deleted_by = user
    engagement.deletion_reason = reason
    engagement.version += 1  # the row is locked (select_for_update), so this cannot race
    engagement._change_reason = f"Deleted: {reason}"[:100]
    _history_user(engagement, user).save()
    engagement.refresh_from_db()
    engagement_changed(engagement)
    announce_engagement_event("deleted", [engagement.pk])
    return engagement


_RELATIONS = {f.name: f.attname for f in Engagement._meta.concrete_fields if f.is_relation}


def _by_attname(fields: dict) -> dict:
    """Checked field values keyed as the table's columns: a related record by its id."""
    by_column = dict(fields)
    for name, column in _RELATIONS.items():
        if name in by_column:
            value = by_column.pop(name)
            by_column[column] = getattr(value, "pk", value)
    return by_column


# A participant's values besides its partner, with what a row that leaves one out gets.
_PARTICIPATION_DEFAULTS = [
    (name, Participation._meta.get_field(name).get_default()) for name in rules.PARTICIPANT_FIELDS if name != "partner"
]


# No savepoint inside a transaction (an import's): its two statements would wait for the import's writing thread
# (core.copy.in_background); nobody catches a failure here to go on, so the enclosing transaction rolls back.
@transaction.atomic(savepoint=False)
def engagements_bulk_create(
    *, engagements: list[CleanEngagement], created_by, import_batch=None, session: BulkCreation | None = None
) -> list[Engagement]:
    """Create many checked engagements with a few bulk statements (imports, the API's bulk create).

    Same rules as ``engagement_create`` (the input went through ``engagement_create_clean``). The rows are
    written by COPY, a statement per table (``core/copy.py``); history rows are written in bulk with the
    user, and the partners' scores are marked stale once for the whole batch. The engagements returned
    hold their column values (related records by id), not loaded relations. ``session``: what a series of
    bulk creations in one transaction shares (an import's batches: ``BulkCreation``; its ``finish`` is the
    caller's to call before the commit); without one, this call is its own.
    """
    if not engagements:
        return []
    own = session is None
    session = session or BulkCreation()
    scope = creator_check(created_by)
    for item in engagements:
        creation_checks(created_by, item, scope=scope)
    by_year: dict[int, list[CleanEngagement]] = {}
    for item in engagements:
        if item.reference:
            session.references.reserve(item.reference)
        else:
            by_year.setdefault(item.fields["start_date"].year, []).append(item)
    drawn = {
        year: iter(numbers)
        for year, numbers in session.references.take({y: len(i) for y, i in by_year.items()}).items()
    }
    # This thread's queries together, before the rows are built: inside ``in_background`` each one waits for
    # the writing thread's statement under way, and the writer starts another after a pause (core.copy).
    ids = session.ids.take(len(engagements))
    now = timezone.now()
    names = session.names
    user_id = getattr(created_by, "pk", None)
    batch_id = getattr(import_batch, "pk", None)
    rows = [
        {
            **_by_attname(item.fields),
            "reference": item.reference or next(drawn[item.fields["start_date"].year]),
            "created_by_id": user_id,
            "updated_by_id": user_id,
            "created_at": now,
            "updated_at": now,
            "search_names": names(
                series_id=item.fields["series"].pk if item.fields.get("series") else None,
                host_id=item.fields["host_country"].pk,
                participant_ids=[row["partner"].pk for row in item.participants],
            ),
            "import_batch_id": batch_id,
            # engagements.services.shape: the same lists are written below
            "partner_count": len(item.participants),
            "partner_ids": partner_ids_of(row["partner"].pk for row in item.participants),
            "under_framework": bool(item.organizations),
            **report_facts(item.after_action),
        }
        for item in engagements
    ]
    created = copy_new(Engagement, rows, ids=ids)  # COPY with ids drawn first (core/copy.py)
    new_ids = [e.pk for e in created]
    # History in SQL (core/history.py): the same "created" records bulk_create_with_history writes.
    history_record_created(Engagement, where_field="id", values=new_ids, user=created_by, date=now)
    pairs = list(zip(created, engagements, strict=True))
    # The related rows column by column, by COPY (core/copy.py): no model instance, dict or list per row.
    organizations = [(e.pk, o.pk) for e, item in pairs for o in item.organizations]
    copy_columns(
        Engagement.organizations.through,
        {"engagement_id": [e for e, _o in organizations], "organization_id": [o for _e, o in organizations]},
    )
    taking_part = [(e, row) for e, item in pairs for row in item.participants]
    participants = [row for _e, row in taking_part]
    partner_ids = [row["partner"].pk for row in participants]
    engagement_ids = [e.pk for e, _row in taking_part]
    copy_columns(
        Participation,
        {
            "engagement_id": engagement_ids,
            "partner_id": partner_ids,
            **{name: [row.get(name, default) for row in participants] for name, default in _PARTICIPATION_DEFAULTS},
        },
    )
    history_record_created(Participation, where_field="engagement", values=new_ids, user=created_by, date=now)
    reports = [
        {
            "engagement_id": e.pk,
            "submitted_by_id": getattr(created_by, "pk", None),
            "submitted_at": now,
            **{k: v for k, v in item.after_action.items() if v is not None},
        }
        for e, item in pairs
        if item.after_action is not None
    ]
    if reports:
        copy_values(AfterActionReport, reports)
        history_record_created(AfterActionReport, where_field="engagement", values=new_ids, user=created_by, date=now)
    copy_columns(
        PartnerChange,
        {
            "partner_id": partner_ids,
            "engagement_id": engagement_ids,
            "first_day": [e.start_date for e, _row in taking_part],
            "last_day": [e.end_date for e, _row in taking_part],
        },
    )
    extensions_apply_new([(e, item.extensions) for e, item in pairs], user=created_by)  # objectives served
    # Every engagement's days, those without partners too: they move the overview's counts.
    announce_changes({row["partner"].pk for _e, row in taking_part}, {(e.start_date, e.end_date) for e in created})
    announce_engagement_event("created", new_ids)
    if own:
        session.finish()
    return created


class BulkCreation:
    """What bulk creations of engagements one after the other in one transaction (an import's batches) read
    once or draw ahead, instead of once per call: the search names' terms of every country and series, new
    ids (``core.copy.IdPool``) and reference numbers (``ReferenceNumbers``). Inside an import each query of
    the checking thread waits for the statement its writing thread has under way (``core.copy``): these were
    three of every batch's four. ``finish`` (before the commit) gives back the reference numbers drawn and
    not used."""

    def __init__(self):
        self.ids = IdPool(Engagement)
        self.references = ReferenceNumbers()
        self._names: SearchNamesBuilder | None = None

    @property
    def names(self) -> SearchNamesBuilder:
        if self._names is None:
            self._names = search_names_builder()
        return self._names

    def finish(self) -> None:
        self.references.give_back()


@transaction.atomic
def series_create(
    *, name: str, slug: str | None = None, description: str = "", lead_organization=None, user=None
) -> ExerciseSeries:
    problems = Problems()
    name = clean_value(ExerciseSeries, "name", name, lambda m: problems.add("name", m)) or ""
    slug = slugify(slug or name)[:80]
    if not slug and "name" not in problems.fields:
        problems.add("slug", _("Give the series a name with letters or digits."))
    if ExerciseSeries.objects.filter(slug=slug).exists() or ExerciseSeries.objects.filter(name__iexact=name).exists():
        problems.add("name", _("An exercise series with this name already exists."))
    leads = [lead_organization] if lead_organization else []
    leads = resolve_organizations(
        leads, Lookups.for_input(organizations=leads), lambda m: problems.add("organizations", m)
    )
    problems.raise_if_any()
    series = ExerciseSeries(
        name=name, slug=slug, description=description, lead_organization=leads[0] if leads else None
    )
    _history_user(series, user).save()
    return series
