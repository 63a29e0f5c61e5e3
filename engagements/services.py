"""Writes of the engagements app: the one path for pages, API, imports, commands and tasks.

Every service validates all of its input first and raises one ``ValidationError`` keyed by field (nothing
is written then), runs in one transaction, records who acted (history rows carry the user), and records
which partners' scores became stale (``PartnerChange`` rows, then ``engagement_data_changed`` after commit).
"""

from __future__ import annotations

import datetime
import decimal
import functools
import re
import threading
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.history import history_record_created
from engagements import selectors
from engagements.choices import (
    SCORED_STATUSES,
    Domain,
    EngagementType,
    ParticipantRole,
    Sensitivity,
    Status,
    ThreatFocus,
    allowed_status_moves,
)
from engagements.models import (
    AfterActionReport,
    Engagement,
    ExerciseSeries,
    Participation,
    PartnerChange,
    ReferenceCounter,
)
from engagements.signals import engagement_data_changed
from organizations.models import Organization
from partners.models import PartnerNation

EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2100, 12, 31)
MAX_PERSONNEL = 1_000_000
MAX_BUDGET = decimal.Decimal("999999999999.99")

ENGAGEMENT_FIELDS = [
    "title",
    "engagement_type",
    "domain",
    "status",
    "start_date",
    "end_date",
    "host_country",
    "location_name",
    "latitude",
    "longitude",
    "threat_focus",
    "description",
    "budget_usd",
    "funding_source",
    "sensitivity",
    "series",
]
AAR_FIELDS = [
    "summary",
    "interoperability_rating",
    "capacity_rating",
    "trust_rating",
    "lessons_learned",
    "recommendations",
]


@dataclass
class SaveResult:
    engagement: Engagement
    warnings: list[dict] = field(default_factory=list)


class _Errors:
    """Collects every problem before anything is written, so the user sees them all at once."""

    def __init__(self):
        self.by_field: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(
                {name: [ValidationError(m) for m in messages] for name, messages in self.by_field.items()}
            )


# --- resolving references given as objects or public keys -------------------------------------------------


class Lookups:
    """Every partner, organization and series in memory, for validating many rows without a query per row."""

    def __init__(self):
        self.partners = {p.iso3: p for p in PartnerNation.objects.all()}
        self.organizations = {o.acronym.upper(): o for o in Organization.objects.all()}
        self.series = {s.slug: s for s in ExerciseSeries.objects.all()}


def _resolve_partner(
    value, errors: _Errors, name: str, cache: dict | None = None, lookups: Lookups | None = None
) -> PartnerNation | None:
    if isinstance(value, PartnerNation):
        return value
    code = str(value or "").strip().upper()
    if not code:
        errors.add(name, _("This field is required."))
        return None
    if cache is not None and code in cache:
        return cache[code]
    if "\x00" in code:  # PostgreSQL cannot even compare such a string: no country has it
        partner = None
    elif lookups is not None:
        partner = lookups.partners.get(code)
    else:
        partner = PartnerNation.objects.filter(iso3=code).first()
    if partner is None:
        errors.add(
            name, _("Unknown country code “%(code)s”: use an ISO 3166-1 alpha-3 code such as FRA.") % {"code": code}
        )
    return partner


def _resolve_organizations(values, errors: _Errors, lookups: Lookups | None = None) -> list[Organization]:
    """Organizations given as objects or acronyms (any case), in order, without repeats."""
    values = list(values or [])
    by_acronym = lookups.organizations if lookups is not None else {}
    if lookups is None and any(not isinstance(v, Organization) for v in values):
        by_acronym = {o.acronym.upper(): o for o in Organization.objects.all()}
    organizations = []
    for value in values:
        org = value if isinstance(value, Organization) else by_acronym.get(str(value).strip().upper())
        if org is None:
            errors.add("organizations", _("Unknown organization “%(acronym)s”.") % {"acronym": value})
        elif org not in organizations:
            organizations.append(org)
    return organizations


def _resolve_series(value, errors: _Errors, lookups: Lookups | None = None) -> ExerciseSeries | None:
    if value in (None, ""):
        return None
    if isinstance(value, ExerciseSeries):
        return value
    slug = str(value).strip().lower()
    if "\x00" in slug:
        series = None
    elif lookups is not None:
        series = lookups.series.get(slug)
    else:
        series = ExerciseSeries.objects.filter(slug=slug).first()
    if series is None:
        errors.add("series", _("Unknown exercise series “%(slug)s”.") % {"slug": value})
    return series


# --- field validation --------------------------------------------------------------------------------------


@functools.cache
def _choice_values(choices) -> frozenset[str]:
    # ``Choices.values`` rebuilds (and translates) the whole list on every access: once per import row and
    # field, that was a tenth of an import's time.
    return frozenset(choices.values)


def _choice(value, choices, name: str, errors: _Errors, *, required: bool = True):
    if value in (None, ""):
        if required:
            errors.add(name, _("This field is required."))
        return None
    if not isinstance(value, str) or value not in _choice_values(choices):  # choices are text; lists don't hash
        errors.add(
            name,
            _("“%(value)s” is not a valid choice: use one of %(choices)s.")
            % {"value": value, "choices": ", ".join(choices.values)},
        )
        return None
    return value


def _date(value, name: str, errors: _Errors):
    if value in (None, ""):
        errors.add(name, _("This field is required."))
        return None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if not isinstance(value, datetime.date):
        try:
            value = datetime.date.fromisoformat(str(value))
        except ValueError:
            errors.add(name, _("Enter a valid date as YYYY-MM-DD."))
            return None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        errors.add(name, _("Enter a date between 1900 and 2100."))
        return None
    return value


def _decimal(value, name: str, errors: _Errors, *, low, high, message: str):
    if value in (None, ""):
        return None
    try:
        number = decimal.Decimal(str(value))
    except (decimal.InvalidOperation, ValueError):
        errors.add(name, _("Enter a number."))
        return None
    if not number.is_finite() or not low <= number <= high:
        errors.add(name, message)
        return None
    return number


def _integer(value, name: str, errors: _Errors, *, low: int, high: int, message: str, required: bool = True):
    if value in (None, ""):
        if required:
            errors.add(name, _("This field is required."))
        return None
    if isinstance(value, bool):
        errors.add(name, _("Enter a whole number."))
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        errors.add(name, _("Enter a whole number."))
        return None
    if not low <= number <= high:
        errors.add(name, message)
        return None
    return number


def _text(value, name: str, errors: _Errors, *, max_length: int, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors.add(name, _("This field is required."))
    if len(text) > max_length:
        errors.add(name, _("At most %(n)s characters.") % {"n": max_length})
    if "\x00" in text:
        errors.add(name, _("Remove the invalid (null) character."))
    return text


def _clean_engagement(data: Mapping[str, Any], errors: _Errors, lookups: Lookups | None = None) -> dict:
    clean: dict[str, Any] = {}
    if "title" in data:
        clean["title"] = _text(data["title"], "title", errors, max_length=200, required=True)
    for name, choices in (
        ("engagement_type", EngagementType),
        ("domain", Domain),
        ("status", Status),
        ("sensitivity", Sensitivity),
    ):
        if name in data:
            clean[name] = _choice(data[name], choices, name, errors)
    for name in ("start_date", "end_date"):
        if name in data:
            clean[name] = _date(data[name], name, errors)
    if "host_country" in data:
        clean["host_country"] = _resolve_partner(data["host_country"], errors, "host_country", lookups=lookups)
    if "location_name" in data:
        clean["location_name"] = _text(data["location_name"], "location_name", errors, max_length=200)
    if "latitude" in data:
        clean["latitude"] = _decimal(
            data["latitude"], "latitude", errors, low=-90, high=90, message=_("Latitude must be between -90 and 90.")
        )
    if "longitude" in data:
        clean["longitude"] = _decimal(
            data["longitude"],
            "longitude",
            errors,
            low=-180,
            high=180,
            message=_("Longitude must be between -180 and 180."),
        )
    if "threat_focus" in data:
        focus = data["threat_focus"] or []
        if isinstance(focus, str):
            focus = [part for part in focus.replace(";", ",").split(",") if part.strip()]
        elif not isinstance(focus, list | tuple | set | frozenset):
            errors.add("threat_focus", _("Give the threat focus as a list of choices."))
            focus = []
        values = []
        for item in focus:
            item = str(item).strip()
            if item not in _choice_values(ThreatFocus):
                errors.add(
                    "threat_focus",
                    _("“%(value)s” is not a valid threat focus: use %(choices)s.")
                    % {"value": item, "choices": ", ".join(ThreatFocus.values)},
                )
            elif item not in values:
                values.append(item)
        clean["threat_focus"] = values
    for name, limit in (("description", 20000), ("funding_source", 120)):
        if name in data:
            clean[name] = _text(data[name], name, errors, max_length=limit)
    if "budget_usd" in data:
        clean["budget_usd"] = _decimal(
            data["budget_usd"],
            "budget_usd",
            errors,
            low=0,
            high=MAX_BUDGET,
            message=_("The budget cannot be negative (or above 999,999,999,999.99)."),
        )
    if "series" in data:
        clean["series"] = _resolve_series(data["series"], errors, lookups)
    return clean


def _clean_participants(
    rows: Iterable[Mapping[str, Any]], errors: _Errors, lookups: Lookups | None = None
) -> list[dict]:
    rows = list(rows or [])
    codes = {
        str(r.get("partner")).strip().upper()
        for r in rows
        if r.get("partner") and not isinstance(r.get("partner"), PartnerNation) and "\x00" not in str(r.get("partner"))
    }
    if lookups is not None:
        cache = lookups.partners
    else:
        cache = {p.iso3: p for p in PartnerNation.objects.filter(iso3__in=codes)} if codes else {}
    clean, seen = [], {}
    for index, row in enumerate(rows, start=1):
        row_errors = _Errors()
        partner = _resolve_partner(row.get("partner"), row_errors, "partner", cache, lookups=lookups)
        role = _choice(row.get("role") or ParticipantRole.PARTICIPANT, ParticipantRole, "role", row_errors)
        personnel = _integer(
            row.get("personnel", 0) if row.get("personnel") not in ("", None) else 0,
            "personnel",
            row_errors,
            low=0,
            high=MAX_PERSONNEL,
            message=_("Personnel cannot be negative (or above 1,000,000)."),
        )
        if partner is not None:
            if partner.pk in seen:
                row_errors.add(
                    "partner",
                    _("%(partner)s is listed twice (rows %(first)s and %(second)s).")
                    % {"partner": partner.name, "first": seen[partner.pk], "second": index},
                )
            seen.setdefault(partner.pk, index)
        for name, messages in row_errors.by_field.items():
            for message in messages:
                errors.add(
                    "participants",
                    _("Participant %(row)s, %(field)s: %(message)s")
                    % {"row": index, "field": name, "message": message},
                )
        if not row_errors.by_field:
            clean.append({"partner": partner, "role": role, "personnel": personnel})
    return clean


def _clean_after_action(data: Mapping[str, Any], errors: _Errors, *, partial: bool = False) -> dict:
    clean = {}
    sub = _Errors()
    if not partial or "summary" in data:
        clean["summary"] = _text(data.get("summary"), "summary", sub, max_length=20000, required=True)
    for name in ("interoperability_rating", "capacity_rating", "trust_rating"):
        if not partial or name in data:
            clean[name] = _integer(
                data.get(name), name, sub, low=1, high=5, message=_("Ratings go from 1 (poor) to 5 (excellent).")
            )
    for name in ("lessons_learned", "recommendations"):
        if not partial or name in data:
            clean[name] = _text(data.get(name), name, sub, max_length=20000)
    if data.get("submitted_at") not in (None, ""):
        # Reports entered after the fact (imports) keep the date they were really submitted.
        clean["submitted_at"] = _datetime(data["submitted_at"], "submitted_at", sub)
    for name, messages in sub.by_field.items():
        for message in messages:
            errors.add(f"after_action.{name}", message)
    return clean


def _datetime(value, name: str, errors: _Errors):
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time())
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value).strip())
        except ValueError:
            errors.add(name, _("Enter a valid date and time, such as 2025-03-01 14:30."))
            return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=datetime.UTC)
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        errors.add(name, _("Enter a date between 1900 and 2100."))
        return None
    return moment


def _cross_checks(values: Mapping[str, Any], errors: _Errors) -> None:
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        errors.add(
            "end_date", _("The end date cannot be before the start date (%(start)s).") % {"start": start.isoformat()}
        )
    already_refused = "latitude" in errors.by_field or "longitude" in errors.by_field  # e.g. out of range
    if not already_refused and (values.get("latitude") is None) != (values.get("longitude") is None):
        errors.add(
            "longitude" if values.get("longitude") is None else "latitude",
            _("Give both latitude and longitude, or neither."),
        )


# --- references ------------------------------------------------------------------------------------------


def reference_allocate(*, year: int, count: int = 1) -> list[str]:
    """Draw ``count`` consecutive reference numbers for ``year``; safe under concurrent creation.

    The year's counter row is locked for the rest of the transaction, so two creations never draw the
    same number; the unique constraint on ``reference`` backs this up.
    """
    with transaction.atomic():
        ReferenceCounter.objects.bulk_create([ReferenceCounter(year=year, last_number=0)], ignore_conflicts=True)
        counter = ReferenceCounter.objects.select_for_update().get(year=year)
        first = counter.last_number + 1
        ReferenceCounter.objects.filter(year=year).update(last_number=F("last_number") + count)
    return [f"ENG-{year}-{number:06d}" for number in range(first, first + count)]


REFERENCE_PATTERN = re.compile(r"^ENG-(\d{4})-(\d{6})$")


def _check_reference(reference: str, errors: _Errors) -> None:
    if not REFERENCE_PATTERN.match(reference or ""):
        errors.add("reference", _("A reference looks like ENG-2025-000123."))
    elif Engagement.objects.filter(reference=reference).exists():
        errors.add("reference", _("Reference %(reference)s is already used.") % {"reference": reference})


def reference_reserve(*, reference: str) -> None:
    """Keep the year's counter past a reference given from outside (an import), so it is never drawn again."""
    match = REFERENCE_PATTERN.match(reference)
    year, number = int(match.group(1)), int(match.group(2))
    with transaction.atomic():
        ReferenceCounter.objects.bulk_create([ReferenceCounter(year=year, last_number=0)], ignore_conflicts=True)
        ReferenceCounter.objects.select_for_update().filter(year=year, last_number__lt=number).update(
            last_number=number
        )


# --- stale scores ----------------------------------------------------------------------------------------


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


def _announce_changes(partner_ids: set[int], spans: Iterable[tuple[datetime.date, datetime.date]]) -> None:
    """Announce the change after commit, or add it to the enclosing ``changes_coalesced`` block's."""
    if _coalesced.changes is not None:
        _coalesced.changes.add(partner_ids, spans)
        return
    changes = _ChangeSet()
    changes.add(partner_ids, spans)
    changes.send_after_commit()


def _record_partner_changes(*, engagement: Engagement | None, partner_ids: set[int], first_day, last_day) -> None:
    """Record which partners' scores the change makes stale, and announce it after commit. A change to an
    engagement without partners is announced too, with no partner: it moves the overview's counts."""
    partner_ids = {pid for pid in partner_ids if pid}
    if first_day is None or last_day is None:
        return
    if not partner_ids:
        _announce_changes(set(), [(first_day, last_day)])
        return
    PartnerChange.objects.bulk_create(
        [
            PartnerChange(partner_id=pid, engagement=engagement, first_day=first_day, last_day=last_day)
            for pid in partner_ids
        ]
    )
    _announce_changes(partner_ids, [(first_day, last_day)])


def _scored_partner_ids(engagement: Engagement) -> set[int]:
    return set(engagement.participations.values_list("partner_id", flat=True))


# --- the services ----------------------------------------------------------------------------------------


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
            _history_user(
                Participation(
                    engagement=engagement, partner=row["partner"], role=row["role"], personnel=row["personnel"]
                ),
                user,
            ).save()
        elif (participation.role, participation.personnel) != (row["role"], row["personnel"]):
            participation.role, participation.personnel = row["role"], row["personnel"]
            _history_user(participation, user).save()


def _write_after_action(engagement: Engagement, values: dict, user) -> AfterActionReport:
    report = AfterActionReport.objects.filter(engagement=engagement).first()
    if report is None:
        values = {
            "submitted_at": timezone.now(),
            **{k: v for k, v in values.items() if v is not None or k != "submitted_at"},
        }
        report = AfterActionReport(engagement=engagement, submitted_by=user, **values)
    else:
        for name, value in values.items():
            setattr(report, name, value)
    _history_user(report, user).save()
    return report


@dataclass
class CleanEngagement:
    """A new engagement's input, validated: field values, participants, frameworks and report."""

    fields: dict
    participants: list[dict]
    organizations: list
    after_action: dict | None
    reference: str | None = None


def engagement_clean(
    *,
    participants: Iterable[Mapping] = (),
    organizations: Iterable = (),
    after_action: Mapping | None = None,
    reference: str | None = None,
    lookups: Lookups | None = None,
    **data,
) -> CleanEngagement:
    """Validate a new engagement without writing anything; raises one ValidationError keyed by field."""
    errors = _Errors()
    unknown = set(data) - set(ENGAGEMENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown engagement fields: {sorted(unknown)}")
    values = {"status": Status.PLANNED, "sensitivity": Sensitivity.UNCLASSIFIED, "threat_focus": [], **data}
    for required in ("title", "engagement_type", "domain", "start_date", "end_date", "host_country"):
        values.setdefault(required, None)
    clean = _clean_engagement(values, errors, lookups)
    clean_participants = _clean_participants(participants, errors, lookups)
    clean_orgs = _resolve_organizations(organizations, errors, lookups)
    clean_aar = _clean_after_action(after_action, errors) if after_action else None
    _cross_checks(clean, errors)
    if clean_aar is not None and clean.get("status") not in SCORED_STATUSES:
        errors.add("after_action", _("An after-action report needs the engagement to be in progress or completed."))
    if reference:
        _check_reference(reference, errors)
    errors.raise_if_any()
    return CleanEngagement(clean, clean_participants, clean_orgs, clean_aar, reference or None)


@transaction.atomic
def engagements_bulk_create(*, engagements: list[CleanEngagement], created_by) -> list[Engagement]:
    """Create many validated engagements with a few bulk statements (imports, demo data).

    Same rules as ``engagement_create`` (the input went through ``engagement_clean``); history rows are
    written in bulk with the user, and the partners' scores are marked stale once for the whole batch.
    """
    if not engagements:
        return []
    by_year: dict[int, list[CleanEngagement]] = {}
    for item in engagements:
        if item.reference:
            reference_reserve(reference=item.reference)
        else:
            by_year.setdefault(item.fields["start_date"].year, []).append(item)
    drawn = {year: iter(reference_allocate(year=year, count=len(items))) for year, items in by_year.items()}
    now = timezone.now()
    objects = [
        Engagement(
            **item.fields,
            reference=item.reference or next(drawn[item.fields["start_date"].year]),
            created_by=created_by,
            updated_by=created_by,
            created_at=now,
            updated_at=now,
        )
        for item in engagements
    ]
    created = Engagement.objects.bulk_create(objects)
    if any(e.pk is None for e in created):
        # Databases without RETURNING: read the ids back by reference.
        ids = dict(
            Engagement.objects.filter(reference__in=[e.reference for e in created]).values_list("reference", "id")
        )
        for engagement in created:
            engagement.pk = engagement.id = ids[engagement.reference]
    new_ids = [e.pk for e in created]
    # History in SQL (core/history.py): the same "created" records bulk_create_with_history writes.
    history_record_created(Engagement, where_field="id", values=new_ids, user=created_by, date=now)
    through = Engagement.organizations.through
    through.objects.bulk_create(
        [
            through(engagement_id=e.pk, organization_id=o.pk)
            for e, item in zip(created, engagements, strict=True)
            for o in item.organizations
        ]
    )
    participations = [
        Participation(engagement_id=e.pk, partner=row["partner"], role=row["role"], personnel=row["personnel"])
        for e, item in zip(created, engagements, strict=True)
        for row in item.participants
    ]
    Participation.objects.bulk_create(participations)
    history_record_created(Participation, where_field="engagement", values=new_ids, user=created_by, date=now)
    reports = [
        AfterActionReport(
            engagement_id=e.pk,
            submitted_by=created_by,
            **{"submitted_at": now, **{k: v for k, v in item.after_action.items() if v is not None}},
        )
        for e, item in zip(created, engagements, strict=True)
        if item.after_action is not None
    ]
    if reports:
        AfterActionReport.objects.bulk_create(reports)
        history_record_created(AfterActionReport, where_field="engagement", values=new_ids, user=created_by, date=now)
    changes = [
        PartnerChange(partner_id=row["partner"].pk, engagement_id=e.pk, first_day=e.start_date, last_day=e.end_date)
        for e, item in zip(created, engagements, strict=True)
        for row in item.participants
    ]
    PartnerChange.objects.bulk_create(changes, batch_size=2000)
    # Every engagement's days, those without partners too: they move the overview's counts.
    _announce_changes({c.partner_id for c in changes}, {(e.start_date, e.end_date) for e in created})
    return created


@transaction.atomic
def engagement_create(
    *,
    created_by,
    participants: Iterable[Mapping] = (),
    organizations: Iterable = (),
    after_action: Mapping | None = None,
    reference: str | None = None,
    **data,
) -> SaveResult:
    """Create an engagement with its participants, frameworks and (optionally) its after-action report.

    A new engagement may be created in any status: history is often entered after the fact.
    """
    checked = engagement_clean(
        participants=participants, organizations=organizations, after_action=after_action, reference=reference, **data
    )
    clean, clean_participants, clean_orgs, clean_aar = (
        checked.fields,
        checked.participants,
        checked.organizations,
        checked.after_action,
    )
    engagement = Engagement(**clean, created_by=created_by, updated_by=created_by)
    if reference:
        reference_reserve(reference=reference)
        engagement.reference = reference
    else:
        engagement.reference = reference_allocate(year=clean["start_date"].year)[0]
    _history_user(engagement, created_by).save()
    if clean_orgs:
        engagement.organizations.set(clean_orgs)
    _write_participants(engagement, clean_participants, created_by)
    if clean_aar is not None:
        _write_after_action(engagement, clean_aar, created_by)
    _record_partner_changes(
        engagement=engagement,
        partner_ids={row["partner"].pk for row in clean_participants},
        first_day=engagement.start_date,
        last_day=engagement.end_date,
    )
    return SaveResult(engagement=engagement, warnings=selectors.deconfliction_warnings(engagement=engagement))


class StaleVersionError(ValidationError):
    """The engagement changed since the user loaded it; their save would overwrite someone else's."""


@transaction.atomic
def engagement_update(
    *,
    engagement: Engagement,
    updated_by,
    expected_version: int | None = None,
    participants: Iterable[Mapping] | None = None,
    organizations: Iterable | None = None,
    after_action: Mapping | None = None,
    **data,
) -> SaveResult:
    """Change any subset of an engagement's fields; ``participants``/``organizations`` replace the sets."""
    unknown = set(data) - set(ENGAGEMENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown engagement fields: {sorted(unknown)}")
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
    errors = _Errors()
    clean = _clean_engagement(data, errors)
    clean_participants = _clean_participants(participants, errors) if participants is not None else None
    clean_orgs = _resolve_organizations(organizations, errors) if organizations is not None else None
    merged = {
        name: clean.get(name, getattr(engagement, name)) for name in ("start_date", "end_date", "latitude", "longitude")
    }
    _cross_checks(merged, errors)
    new_status = clean.get("status")
    if new_status and new_status != engagement.status and new_status not in allowed_status_moves(engagement.status):
        errors.add("status", _status_refusal(engagement.status, new_status))
    clean_aar = None
    has_report = hasattr(engagement, "after_action")
    if after_action is not None:
        clean_aar = _clean_after_action(after_action, errors, partial=has_report)
        if (new_status or engagement.status) not in SCORED_STATUSES:
            errors.add("after_action", _("An after-action report needs the engagement to be in progress or completed."))
    elif (
        has_report
        and new_status
        and "status" not in errors.by_field
        and (refusal := reported_status_refusal(new_status))
    ):
        errors.add("status", refusal)
    errors.raise_if_any()

    old_partners = _scored_partner_ids(engagement)
    old_span = (engagement.start_date, engagement.end_date)
    for name, value in clean.items():
        setattr(engagement, name, value)
    engagement.updated_by = updated_by
    engagement.version += 1  # the row is locked (select_for_update), so this cannot race
    _history_user(engagement, updated_by).save()
    engagement.refresh_from_db()
    if clean_orgs is not None:
        engagement.organizations.set(clean_orgs)
    if clean_participants is not None:
        _write_participants(engagement, clean_participants, updated_by)
    if clean_aar is not None:
        _write_after_action(engagement, clean_aar, updated_by)
    _record_partner_changes(
        engagement=engagement,
        partner_ids=old_partners | _scored_partner_ids(engagement),
        first_day=min(old_span[0], engagement.start_date),
        last_day=max(old_span[1], engagement.end_date),
    )
    return SaveResult(engagement=engagement, warnings=selectors.deconfliction_warnings(engagement=engagement))


def _status_refusal(current: str, wanted: str) -> str:
    allowed = allowed_status_moves(current)
    labels = dict(Status.choices)
    if not allowed:
        return _("A %(current)s engagement cannot change status any more.") % {"current": labels[current].lower()}
    return _("Cannot move from %(current)s to %(wanted)s; allowed: %(allowed)s.") % {
        "current": labels[current].lower(),
        "wanted": labels.get(wanted, wanted).lower(),
        "allowed": ", ".join(str(labels[s]).lower() for s in allowed),
    }


@transaction.atomic
def reported_status_refusal(status: str) -> str | None:
    """Why an engagement with an after-action report may not take ``status`` (None if it may): the report
    says it took place, so, like a completed engagement, it can no longer be cancelled."""
    if status in SCORED_STATUSES:
        return None
    return _("This engagement has an after-action report: it took place and cannot be cancelled.")


def status_moves(*, current: str, has_report: bool) -> list[str]:
    """The statuses an engagement may move to now: forward or cancelled (``allowed_status_moves``), and not
    cancelled once it has an after-action report."""
    return [s for s in allowed_status_moves(current) if not (has_report and reported_status_refusal(s))]


def engagement_change_status(
    *, engagement: Engagement, status: str, user, expected_version: int | None = None
) -> Engagement:
    """Move an engagement along its life cycle: only forward, or to cancelled from any state but completed."""
    errors = _Errors()
    status = _choice(status, Status, "status", errors)
    errors.raise_if_any()
    current = Engagement.objects.only("status").get(pk=engagement.pk).status
    if status == current:
        return engagement
    if status not in allowed_status_moves(current):
        raise ValidationError({"status": [_status_refusal(current, status)]})
    return engagement_update(
        engagement=engagement, updated_by=user, expected_version=expected_version, status=status
    ).engagement


@transaction.atomic
def after_action_submit(*, engagement: Engagement, user, **data) -> AfterActionReport:
    """Submit or edit the engagement's after-action report (in-progress or completed engagements only)."""
    errors = _Errors()
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    unknown = set(data) - set(AAR_FIELDS)
    if unknown:
        raise TypeError(f"Unknown after-action fields: {sorted(unknown)}")
    existing = AfterActionReport.objects.filter(engagement=engagement).exists()
    clean = _clean_after_action(data, errors, partial=existing)
    if engagement.status not in SCORED_STATUSES:
        errors.add("after_action", _("An after-action report needs the engagement to be in progress or completed."))
    if engagement.deleted_at is not None:
        errors.add("after_action", _("This engagement has been deleted."))
    errors.raise_if_any()
    report = _write_after_action(engagement, clean, user)
    Engagement.objects.filter(pk=engagement.pk).update(
        version=F("version") + 1, updated_by=user, updated_at=timezone.now()
    )
    _record_partner_changes(
        engagement=engagement,
        partner_ids=_scored_partner_ids(engagement),
        first_day=engagement.start_date,
        last_day=engagement.end_date,
    )
    return report


@transaction.atomic
def engagement_delete(*, engagement: Engagement, user, reason: str) -> Engagement:
    """Delete an engagement: it disappears everywhere but stays recorded with who, when and why."""
    errors = _Errors()
    reason = _text(reason, "reason", errors, max_length=300, required=True)
    errors.raise_if_any()
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    if engagement.deleted_at is not None:
        return engagement
    engagement.deleted_at = timezone.now()
    engagement.deleted_by = user
    engagement.deletion_reason = reason
    engagement.version += 1  # the row is locked (select_for_update), so this cannot race
    engagement._change_reason = f"Deleted: {reason}"[:100]
    _history_user(engagement, user).save()
    engagement.refresh_from_db()
    _record_partner_changes(
        engagement=engagement,
        partner_ids=_scored_partner_ids(engagement),
        first_day=engagement.start_date,
        last_day=engagement.end_date,
    )
    return engagement


@transaction.atomic
def series_create(
    *, name: str, slug: str | None = None, description: str = "", lead_organization=None, user=None
) -> ExerciseSeries:
    from django.utils.text import slugify

    errors = _Errors()
    name = _text(name, "name", errors, max_length=120, required=True)
    slug = slugify(slug or name)[:80]
    if not slug:
        errors.add("slug", _("Give the series a name with letters or digits."))
    if ExerciseSeries.objects.filter(slug=slug).exists() or ExerciseSeries.objects.filter(name__iexact=name).exists():
        errors.add("name", _("An exercise series with this name already exists."))
    orgs = _resolve_organizations([lead_organization] if lead_organization else [], errors)
    errors.raise_if_any()
    series = ExerciseSeries(name=name, slug=slug, description=description, lead_organization=orgs[0] if orgs else None)
    _history_user(series, user).save()
    return series
