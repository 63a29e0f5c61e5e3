"""The one validator of engagement input: pages, API, import and admin all send their values here.

``engagement_create_clean`` and ``engagement_update_clean`` check without writing and raise one
``InputError`` with every problem at once, keyed by field (participants by row); the write services
(``engagements.services.engagements``) apply what they return. Each field is checked by its model field
(``to_python``, choices, validators, max_length: Django's own machinery), the cross-field rules by
``Engagement.clean``, the status and report rules by ``engagements.rules``. Nothing here queries per row:
references are resolved from ``Lookups`` (loaded once) or one query per call.
"""

from __future__ import annotations

import datetime
import decimal
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Unit
from engagements import rules
from engagements.choices import ThreatFocus
from engagements.extensions import clean_all as extensions_clean
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation
from engagements.services.references import reference_problem
from organizations.models import Organization
from partners.models import PartnerNation


class _Keep:
    """``after_action`` left out of an update: the report stays as it is (None would mean "remove it")."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()
# ``created_by`` not given to a check-only step: the write asks the creator's rules (``creation_checks``).
UNASKED = object()


class InputError(ValidationError):
    """Every problem of one input. ``fields``: messages by field; ``rows``: participants' messages by row
    (0-based, as given) and field. ``message_dict`` also lists the rows' messages under ``participants``
    ("Participant 2, personnel: ..."), for callers that report by field only (the import)."""

    def __init__(self, fields: dict[str, list[str]], rows: dict[int, dict[str, list[str]]]):
        flat = {name: list(messages) for name, messages in fields.items()}
        for index, by_field in sorted(rows.items()):
            for name, messages in by_field.items():
                flat.setdefault("participants", []).extend(
                    _("Participant %(row)s, %(field)s: %(message)s")
                    % {"row": index + 1, "field": name, "message": message}
                    for message in messages
                )
        super().__init__({name: [ValidationError(m) for m in messages] for name, messages in flat.items()})
        self.fields, self.rows = fields, rows


class Problems:
    """Collects every problem before anything is written, so the user sees them all at once."""

    def __init__(self):
        self.fields: dict[str, list[str]] = {}
        self.rows: dict[int, dict[str, list[str]]] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(str(message))

    def add_row(self, index: int, name: str, message: str) -> None:
        self.rows.setdefault(index, {}).setdefault(name, []).append(str(message))

    def raise_if_any(self) -> None:
        if self.fields or self.rows:
            raise InputError(self.fields, self.rows)


class Lookups:
    """Every partner, organization, series, unit and active user in memory, for validating many rows without
    a query per row."""

    def __init__(self, *, partners=None, organizations=None, series=None, units=None, users=None):
        self.partners = partners if partners is not None else {p.iso3: p for p in PartnerNation.objects.all()}
        self.organizations = (
            organizations if organizations is not None else {o.acronym.upper(): o for o in Organization.objects.all()}
        )
        self.series = series if series is not None else {s.slug: s for s in ExerciseSeries.objects.all()}
        self.units = units if units is not None else {u.code.upper(): u for u in Unit.objects.all()}
        self.users = users if users is not None else {u.username: u for u in _active_users()}
        # Accepted answers by (field, value given as text): an import's columns repeat a few values (types,
        # countries, participants), checked once per import instead of once per row (``_clean_fields``).
        self.accepted: dict = {}

    @classmethod
    def for_input(
        cls, *, partners: Iterable = (), organizations: Iterable = (), series=None, unit=None, user=None
    ) -> Lookups:
        """Only what one input names: a query for each kind it names by code."""
        codes = {_code(p) for p in partners if not isinstance(p, PartnerNation)} - {""}
        by_acronym = any(not isinstance(o, Organization) for o in organizations)
        slug = str(series or "").strip().lower() if not isinstance(series, ExerciseSeries) else ""
        unit_code = _code(unit) if not isinstance(unit, Unit) else ""
        username = str(user or "").strip() if not isinstance(user, models.Model) else ""
        return cls(
            partners={p.iso3: p for p in PartnerNation.objects.filter(iso3__in=codes)} if codes else {},
            organizations=None if by_acronym else {},  # a short table: read whole, matched in any case
            series={s.slug: s for s in ExerciseSeries.objects.filter(slug=slug)} if slug and "\x00" not in slug else {},
            units={u.code.upper(): u for u in Unit.objects.filter(code__iexact=unit_code)} if unit_code else {},
            users={u.username: u for u in _active_users().filter(username=username)}
            if username and "\x00" not in username
            else {},
        )


def _active_users():
    return get_user_model().objects.filter(is_active=True)


def _code(value) -> str:
    code = str(value or "").strip().upper()
    return "" if "\x00" in code else code  # PostgreSQL cannot even compare such a string


@dataclass
class CleanEngagement:
    """An engagement's input, checked: field values, participants, frameworks and report. For an update,
    ``fields`` holds what changes, and participants, organizations or after_action are None when not given."""

    fields: dict
    participants: list[dict] | None
    organizations: list | None
    after_action: dict | None
    reference: str | None = None
    reason: str = ""  # why the status moved (cancelling, reopening): kept in the history
    extensions: dict = dataclass_field(default_factory=dict)  # fields other apps own (engagements.extensions)


# --- one value by its model field -------------------------------------------------------------------------

_REQUIRED = {"blank", "null", "required"}


def _message(model_field, error: ValidationError) -> str:
    if error.code in _REQUIRED:
        return _("This field is required.")
    if error.code == "invalid_choice":
        return _("“%(value)s” is not a valid choice: use one of %(choices)s.") % {
            "value": error.params["value"],
            "choices": ", ".join(str(value) for value, _label in model_field.choices),
        }
    if error.code in ("invalid", "invalid_date"):
        if isinstance(model_field, models.IntegerField):
            return _("Enter a whole number.")
        if isinstance(model_field, models.DateTimeField):
            return _("Enter a valid date and time, such as 2025-03-01 14:30.")
        if isinstance(model_field, models.DateField):
            return _("Enter a valid date as YYYY-MM-DD.")
        if isinstance(model_field, models.DecimalField):
            return _("Enter a number.")
    return error.messages[0]


def _parseable(value):
    if isinstance(value, bool) or not isinstance(value, str | int | decimal.Decimal | datetime.date):
        return str(value)  # a float's text keeps "1.5" from becoming the whole number 1
    return value


def _to_scale(model_field, value):
    """A number with more decimals than are kept is rounded (GPS coordinates, cents), not refused."""
    places = model_field.decimal_places
    if value.is_finite() and abs(value) < 10 ** (model_field.max_digits - places):
        return value.quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)
    return value


@functools.cache
def _checks(model, name: str):
    """A field and what ``clean_value`` does with it, worked out once (an import checks millions of values)."""
    model_field = model._meta.get_field(name)
    validators = list(model_field.validators)
    if isinstance(model_field, models.TextField) and model_field.max_length:
        validators.append(MaxLengthValidator(model_field.max_length))  # Django leaves this one to forms
    return (
        model_field,
        isinstance(model_field, models.DecimalField),
        isinstance(model_field, models.DateTimeField),
        validators,
        _quick_check(model_field, validators),
    )


_SLOW = object()  # what a quick check answers for a value it does not vouch for: the whole check decides


def _bounds(validators) -> tuple[Any, Any, int | None] | None:
    """The smallest and largest value and the longest text ``validators`` allow, when they are only Django's
    plain limit validators (None otherwise: the quick checks leave such a field to the whole check)."""
    low = high = length = None
    for validator in validators:
        kind, limit = type(validator), getattr(validator, "limit_value", None)
        if callable(limit):
            return None
        if kind is MinValueValidator:
            low = limit if low is None else max(low, limit)
        elif kind is MaxValueValidator:
            high = limit if high is None else min(high, limit)
        elif kind is MaxLengthValidator:
            length = limit if length is None else min(length, limit)
        else:
            return None
    return low, high, length


def _quick_check(model_field, validators):
    """For an import's usual values (text, a choice, a date or a whole number given as text, an empty cell),
    a check that answers what ``clean_value`` would answer at a fraction of its cost, or ``_SLOW`` to leave
    the value to it: anything unusual, and every refused value, goes the whole way, messages included.
    ``tests/engagements/test_clean_value.py`` compares the two on many values."""
    if type(model_field).to_python is not _TO_PYTHON.get(type(model_field)):
        return None
    if model_field.null:
        empty = None
    elif model_field.blank and isinstance(model_field, models.CharField | models.TextField):
        empty = ""
    else:
        empty = _SLOW

    def only_empty(value):
        return empty if type(value) is str and not value.strip() else _SLOW

    bounds = _bounds(validators)
    if bounds is None:  # other validators (a decimal's digits): only an empty cell is answered quickly
        return only_empty if empty is not _SLOW else None
    low, high, length = bounds
    if isinstance(model_field, models.CharField | models.TextField):
        if model_field.choices:
            choices = frozenset(
                str(value)
                for value, _label in model_field.flatchoices
                if value and (length is None or len(value) <= length)
            )

            def choice(value):
                if type(value) is str:
                    value = value.strip()
                    if value in choices:
                        return value
                    if not value:
                        return empty
                return _SLOW

            return choice
        if low is not None or high is not None:
            return None

        def text(value):
            if type(value) is str:
                value = value.strip()
                if not value:
                    return empty
                if (length is None or len(value) <= length) and "\x00" not in value:
                    return value
            return _SLOW

        return text
    if model_field.choices:
        return None
    if type(model_field) is models.DateField:

        def day(value):
            if type(value) is str:
                value = value.strip()
                if len(value) == 10 and value[4] == "-":
                    try:
                        value = datetime.date.fromisoformat(value)
                    except ValueError:
                        return _SLOW
                    if (low is None or value >= low) and (high is None or value <= high):
                        return value
                elif not value:
                    return empty
            return _SLOW

        return day
    if isinstance(model_field, models.IntegerField):

        def number(value):
            if type(value) is str:
                value = value.strip()
                if not value:
                    return empty
                if not (value.isascii() and value.isdigit() and len(value) < 16):
                    return _SLOW
                value = int(value)
            elif type(value) is not int:
                return _SLOW
            if (low is None or value >= low) and (high is None or value <= high):
                return value
            return _SLOW

        return number
    return only_empty


# The fields whose conversion the quick checks copy: a subclass that converts its own way gets none.
_TO_PYTHON = {
    kind: kind.to_python
    for kind in (
        models.CharField,
        models.TextField,
        models.DateField,
        models.IntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.SmallIntegerField,
        models.BigIntegerField,
        models.DecimalField,
    )
}


def clean_value(model, name: str, value, add) -> Any:
    """``value`` as ``model``'s field ``name`` stores it, or None after ``add(message)`` for each problem."""
    quick = _checks(model, name)[4]
    if quick is not None and (checked := quick(value)) is not _SLOW:
        return checked
    return _clean_fully(model, name, value, add)


def _clean_fully(model, name: str, value, add) -> Any:
    """``clean_value`` the whole way: Django's field conversion, validation and validators."""
    model_field, is_decimal, is_moment, validators, _quick = _checks(model, name)
    if isinstance(value, str):
        value = value.strip()
        if "\x00" in value:
            add(_("Remove the invalid (null) character."))
            return None
        if not value and model_field.null:
            value = None
    elif value is None:
        if not model_field.null and model_field.blank:
            value = rules.default(model, name)  # blank text left out is empty text
    else:
        value = _parseable(value)
    try:
        value = model_field.to_python(value)
        if value is not None:
            if is_decimal:
                value = _to_scale(model_field, value)
            elif is_moment and timezone.is_naive(value):
                value = value.replace(tzinfo=datetime.UTC)
        model_field.validate(value, None)
        if value not in model_field.empty_values:
            for validator in validators:  # the field's own, as ``run_validators`` runs them
                validator(value)
    except ValidationError as error:
        for one in error.error_list:
            add(_message(model_field, one))
        return None
    except (TypeError, ValueError, OverflowError, decimal.InvalidOperation):
        add(_message(model_field, ValidationError("", code="invalid")))
        return None
    return value


# --- references given as objects or public keys -----------------------------------------------------------


def _partner(value, lookups: Lookups, add) -> PartnerNation | None:
    if isinstance(value, PartnerNation):
        return value
    code = _code(value)
    if not str(value or "").strip():
        add(_("This field is required."))
        return None
    partner = lookups.partners.get(code)
    if partner is None:
        add(_("Unknown country code “%(code)s”: use an ISO 3166-1 alpha-3 code such as FRA.") % {"code": code})
    return partner


def resolve_organizations(values, lookups: Lookups, add) -> list[Organization]:
    """Organizations given as objects or acronyms (any case), in order, without repeats."""
    organizations = []
    for value in values or []:
        org = value if isinstance(value, Organization) else lookups.organizations.get(_code(value))
        if org is None:
            add(_("Unknown organization “%(acronym)s”.") % {"acronym": value})
        elif org not in organizations:
            organizations.append(org)
    return organizations


def _series(value, lookups: Lookups, add) -> ExerciseSeries | None:
    if value in (None, "") or isinstance(value, ExerciseSeries):
        return value or None
    series = lookups.series.get(str(value).strip().lower())
    if series is None:
        add(_("Unknown exercise series “%(slug)s”.") % {"slug": value})
    return series


def _threat_focus(value, add) -> list[str]:
    focus = value or []
    if isinstance(focus, str):
        focus = [part for part in focus.replace(";", ",").split(",") if part.strip()]
    elif not isinstance(focus, list | tuple | set | frozenset):
        add(_("Give the threat focus as a list of choices."))
        return []
    values = []
    for item in focus:
        item = str(item).strip()
        if item not in _THREATS:
            add(
                _("“%(value)s” is not a valid threat focus: use %(choices)s.")
                % {"value": item, "choices": ", ".join(ThreatFocus.values)}
            )
        elif item not in values:
            values.append(item)
    return values


def _owner_unit(value, lookups: Lookups, add) -> Unit | None:
    if isinstance(value, Unit):
        return value
    if value in (None, ""):
        add(rules.OWNER_UNIT_NEEDED())
        return None
    unit = lookups.units.get(_code(value))
    if unit is None:
        add(_("Unknown unit “%(code)s”: use the code of a unit, as on the units page.") % {"code": value})
    return unit


def _point_of_contact(value, lookups: Lookups, add):
    if value in (None, "") or isinstance(value, models.Model):
        if value is not None and getattr(value, "is_active", True) is False:
            add(_("%(username)s is not an active user.") % {"username": value})
            return None
        return value or None
    user = lookups.users.get(str(value).strip())
    if user is None:
        add(_("Unknown user “%(username)s”: give the username of an active user.") % {"username": value})
    return user


_THREATS = frozenset(ThreatFocus.values)  # ``values`` rebuilds (and translates) the list on every access
_REFERENCES = {
    "host_country": _partner,
    "series": _series,
    "owner_unit": _owner_unit,
    "point_of_contact": _point_of_contact,
}


def _as_key(value):
    """``value`` as a key of ``Lookups.accepted`` when its answer depends on it alone: text, nothing, or a
    list of texts (an import's cells); None for anything else (objects, numbers: checked every time)."""
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is list and all(type(item) is str for item in value):
        return tuple(value)
    return None


def _clean_field(name: str, value, lookups: Lookups, add):
    if name in _REFERENCES:
        return _REFERENCES[name](value, lookups, add)
    if name == "threat_focus":
        return _threat_focus(value, add)
    return clean_value(Engagement, name, value, add)


def _kept(accepted: dict, key):
    """The answer ``accepted`` keeps for ``key`` (a list copied: each row its own), or ``_UNSEEN``. Asked
    before ``_checked_once`` where most values were answered on an earlier row: without its two closures."""
    found = accepted.get(key, _UNSEEN)
    return list(found) if type(found) is list else found


def _checked_once(accepted: dict, key, check, add):
    """``check(add)``, or the answer it gave an earlier identical value: ``key`` (None: always checked) names
    the value in ``accepted``, which keeps answers given without a problem. Refusals are never kept, so
    every row with a refused value is reported with its message."""
    if key is not None:
        found = _kept(accepted, key)
        if found is not _UNSEEN:
            return found
    refused = []

    def add_refused(message):
        refused.append(message)
        add(message)

    value = check(add_refused)
    if key is not None and not refused:
        accepted[key] = list(value) if type(value) is list else value
    return value


def _clean_fields(data: Mapping[str, Any], problems: Problems, lookups: Lookups) -> dict:
    clean = {}
    accepted = lookups.accepted
    if len(accepted) > ACCEPTED_AT_MOST:  # titles never repeat: memory stays bounded whatever the file
        accepted.clear()
    for name, value in data.items():
        if type(value) is str or value is None:  # an import's cell: most were answered on an earlier row
            found = _kept(accepted, (name, value))
            if found is not _UNSEEN:
                clean[name] = found
                continue
        key = _as_key(value)
        clean[name] = _checked_once(
            accepted,
            (name, key) if key is not None or value is None else None,
            lambda add, name=name, value=value: _clean_field(name, value, lookups, add),
            lambda message, name=name: problems.add(name, message),
        )
    return clean


_UNSEEN = object()
ACCEPTED_AT_MOST = 100_000


def _clean_participants(rows: Iterable[Mapping[str, Any]], problems: Problems, lookups: Lookups) -> list[dict]:
    clean, seen = [], {}
    accepted = lookups.accepted
    for index, row in enumerate(rows):
        before = len(problems.rows)

        def add(message, name, index=index):
            problems.add_row(index, name, message)

        partner = _partner(row.get("partner"), lookups, lambda m: add(m, "partner"))
        values = {}
        for name in rules.PARTICIPANT_FIELDS:
            if name == "partner":
                continue
            value = row.get(name)
            if value in (None, ""):
                value = rules.default(Participation, name)
            # A participant's role and personnel given as text (an import's "host", "50"): once per import.
            if type(value) is str:
                found = _kept(accepted, ("participant", name, value))
                if found is not _UNSEEN:
                    values[name] = found
                    continue
            values[name] = _checked_once(
                accepted,
                ("participant", name, value) if type(value) is str else None,
                lambda add_value, name=name, value=value: clean_value(Participation, name, value, add_value),
                lambda message, name=name: add(message, name),
            )
        if partner is not None:
            if partner.pk in seen:
                add(
                    _("%(partner)s is listed twice (already listed in row %(first)s).")
                    % {"partner": partner.name, "first": seen[partner.pk] + 1},
                    "partner",
                )
            seen.setdefault(partner.pk, index)
        if len(problems.rows) == before:
            clean.append({"partner": partner, **values})
    return clean


def _clean_after_action(data: Mapping[str, Any], problems: Problems, *, partial: bool) -> dict:
    if not isinstance(data, Mapping):
        problems.add("after_action", _("Give the after-action report as an object of its fields."))
        return {}
    clean = {}
    for name in rules.AAR_FIELDS:
        if not partial or name in data:
            clean[name] = clean_value(
                AfterActionReport, name, data.get(name), lambda m, name=name: problems.add(f"after_action.{name}", m)
            )
    if data.get("submitted_at") not in (None, ""):
        # Reports entered after the fact (imports) keep the date they were really submitted.
        clean["submitted_at"] = clean_value(
            AfterActionReport,
            "submitted_at",
            data["submitted_at"],
            lambda m: problems.add("after_action.submitted_at", m),
        )
    return clean


def _cross_checks(values: Mapping[str, Any], problems: Problems) -> None:
    """``Engagement.clean``'s rules on the merged values, unless a field they read was refused already."""
    names = ("start_date", "end_date", "latitude", "longitude")
    if any(name in problems.fields for name in names):
        return
    for name, message in Engagement.cross_field_problems(**{name: values.get(name) for name in names}).items():
        problems.add(name, message)


def _refuse_unknown(data: Mapping) -> None:
    unknown = set(data) - set(rules.ENGAGEMENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown engagement fields: {sorted(unknown)}")


def _lookups_for(data, participants, organizations) -> Lookups:
    return Lookups.for_input(
        partners=[data.get("host_country"), *(row.get("partner") for row in participants or [])],
        organizations=organizations or [],
        series=data.get("series"),
        unit=data.get("owner_unit"),
        user=data.get("point_of_contact"),
    )


# --- the check-only steps ---------------------------------------------------------------------------------


def engagement_create_clean(
    *,
    participants: Iterable[Mapping] = (),
    organizations: Iterable = (),
    after_action: Mapping | None = None,
    reference: str | None = None,
    lookups: Lookups | None = None,
    extensions: Mapping | None = None,
    created_by=UNASKED,
    **data,
) -> CleanEngagement:
    """Check a new engagement without writing anything; raises one InputError with every problem.

    A new engagement may be created in any status (history is often entered after the fact), so the
    status policy's move and date rules do not apply; a report still needs an engagement under way. Given
    ``created_by``, the statuses the creator may not give a new engagement (approved, for a planner:
    ``rules.creation_status_refusal``) join the other problems; the write asks again in any case."""
    _refuse_unknown(data)
    participants, organizations = list(participants or []), list(organizations or [])
    lookups = lookups or _lookups_for(data, participants, organizations)
    problems = Problems()
    values = {**rules.defaults(Engagement), **data}
    clean = _clean_fields(values, problems, lookups)
    clean_participants = _clean_participants(participants, problems, lookups)
    clean_orgs = resolve_organizations(organizations, lookups, lambda m: problems.add("organizations", m))
    clean_aar = _clean_after_action(after_action, problems, partial=False) if after_action else None
    _cross_checks(clean, problems)
    if created_by is not UNASKED and (refusal := rules.creation_status_refusal(created_by, clean.get("status"))):
        problems.add("status", refusal)
    if clean_aar is not None and (
        refusal := rules.report_refusal(status=clean.get("status"), start_date=clean.get("start_date"), new=False)
    ):
        problems.add("after_action", refusal)
    if reference and (problem := reference_problem(reference)):
        problems.add("reference", problem)
    clean_extensions = extensions_clean(
        extensions, engagement=None, partner_ids=_partner_ids(clean_participants), add=problems.add
    )
    problems.raise_if_any()
    return CleanEngagement(
        clean, clean_participants, clean_orgs, clean_aar, reference or None, extensions=clean_extensions
    )


def _partner_ids(rows: Iterable[Mapping]) -> set[int]:
    return {row["partner"].pk for row in rows if isinstance(row.get("partner"), PartnerNation)}


def engagement_bulk_create_clean(
    *, rows: Iterable[tuple[int, Mapping]], created_by=UNASKED, lookups: Lookups | None = None
) -> tuple[dict[int, CleanEngagement], dict[int, ValidationError]]:
    """Check many new engagements without writing: each row by ``engagement_create_clean`` (the same
    messages as a single create), every row before answering, with one ``Lookups`` for all of them (three
    queries, whatever the number of rows). ``rows`` are (index, arguments); returns the checked rows and the
    problems, both by index."""
    lookups = lookups or Lookups()
    checked: dict[int, CleanEngagement] = {}
    problems: dict[int, ValidationError] = {}
    for index, arguments in rows:
        try:
            checked[index] = engagement_create_clean(lookups=lookups, created_by=created_by, **arguments)
        except ValidationError as exc:  # an InputError: fields, and participants by row
            problems[index] = exc
    return checked, problems


def engagement_update_clean(
    *,
    engagement: Engagement,
    has_report: bool | None = None,
    participants: Iterable[Mapping] | None = None,
    organizations: Iterable | None = None,
    after_action: Mapping | None = KEEP,
    lookups: Lookups | None = None,
    today: datetime.date | None = None,
    may_reopen: bool = False,
    reason: str | None = None,
    extensions: Mapping | None = None,
    **data,
) -> CleanEngagement:
    """Check a change to ``engagement`` (its stored values) without writing anything; raises one InputError
    with every problem. ``participants``/``organizations`` replace the sets when given; ``after_action``
    adds or edits the report field by field, and None (removing it) is refused. ``reason`` says why the
    status moves (cancelling and reopening need one; None: this path cannot give one); ``may_reopen``: the
    user may reopen a cancelled engagement (``rules.may_reopen``)."""
    _refuse_unknown(data)
    if has_report is None:
        has_report = AfterActionReport.objects.filter(engagement_id=engagement.pk).exists()
    participants = list(participants) if participants is not None else None
    lookups = lookups or _lookups_for(data, participants, organizations)
    if engagement.deleted_at is not None:
        raise ValidationError(_("This engagement has been deleted."))
    problems = Problems()
    clean = _clean_fields(data, problems, lookups)
    clean_participants = _clean_participants(participants, problems, lookups) if participants is not None else None
    clean_orgs = (
        resolve_organizations(organizations, lookups, lambda m: problems.add("organizations", m))
        if organizations is not None
        else None
    )
    merged = {
        name: clean[name] if name in data else getattr(engagement, name)
        for name in ("status", "start_date", "end_date", "latitude", "longitude")
    }
    _cross_checks(merged, problems)
    status = merged["status"]
    if "status" in data and status and "status" not in problems.fields:
        refusal = rules.status_refusal(
            current=engagement.status,
            wanted=status,
            has_report=has_report,
            start_date=merged["start_date"],
            end_date=merged["end_date"],
            today=today,
            may_reopen=may_reopen,
            reason=reason,
        )
        if refusal:
            problems.add("status", refusal)
        elif reason is not None and rules.needs_reason(engagement.status, status):
            reason_refused = rules.reason_refusal(reason)
            if reason_refused:
                problems.add("reason", reason_refused)
    clean_aar = None
    if after_action is None and has_report:
        problems.add("after_action", rules.report_removal_refusal())
    elif after_action:
        clean_aar = _clean_after_action(after_action, problems, partial=has_report)
        refusal = rules.report_refusal(
            status=status or engagement.status, start_date=merged["start_date"], new=not has_report, today=today
        )
        if refusal:
            problems.add("after_action", refusal)
    partner_ids = _partner_ids(clean_participants) if clean_participants is not None else None
    clean_extensions = extensions_clean(extensions, engagement=engagement, partner_ids=partner_ids, add=problems.add)
    problems.raise_if_any()
    moved_with_reason = "status" in data and rules.needs_reason(engagement.status, status)
    return CleanEngagement(
        clean,
        clean_participants,
        clean_orgs,
        clean_aar,
        reason=(reason or "").strip() if moved_with_reason else "",
        extensions=clean_extensions,
    )


def after_action_clean(*, engagement: Engagement, has_report: bool, today: datetime.date | None = None, **data) -> dict:
    """Check a report's submission or edit (the first needs every required field) without writing."""
    unknown = set(data) - set(rules.AAR_FIELDS)
    if unknown:
        raise TypeError(f"Unknown after-action fields: {sorted(unknown)}")
    problems = Problems()
    clean = _clean_after_action(data, problems, partial=has_report)
    refusal = rules.report_refusal(
        status=engagement.status, start_date=engagement.start_date, new=not has_report, today=today
    )
    if refusal:
        problems.add("after_action", refusal)
    if engagement.deleted_at is not None:
        problems.add("after_action", _("This engagement has been deleted."))
    problems.raise_if_any()
    return clean
