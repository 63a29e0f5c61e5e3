"""Writes for objectives, indicators, measurements and alerts: the one path for pages, API and admin users.

Every write validates first (``ValidationError`` keyed by field, nothing written) and, because indicator
progress feeds the objectives component, asks for the partner's affected quarters to be recomputed.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.models import Alert, Indicator, Measurement, Objective
from assessments.periods import Quarter, quarter_range
from assessments.services.runs import scores_recompute_request
from partners.models import PartnerNation

MAX_ABS_VALUE = 1e12
OBJECTIVE_FIELDS = {"partner", "line_of_effort", "title", "description", "target_date", "status"}
INDICATOR_FIELDS = {"objective", "name", "unit", "baseline_value", "target_value", "baseline_date"}
MEASUREMENT_FIELDS = {"indicator", "date", "value", "source"}


def _check_fields(data: dict, allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise TypeError(f"Unknown fields: {sorted(unknown)}")


def _partner(value) -> PartnerNation:
    if isinstance(value, PartnerNation):
        return value
    partner = PartnerNation.objects.filter(iso3__iexact=str(value or "").strip()).first()
    if partner is None:
        raise ValidationError(
            {"partner": [_("Unknown country code “%(code)s”: use an ISO alpha-3 code such as KEN.") % {"code": value}]}
        )
    return partner


def _finite(instance, names: Iterable[str]) -> None:
    errors = {}
    for name in names:
        value = getattr(instance, name)
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue  # full_clean reports it
        if not math.isfinite(number) or abs(number) > MAX_ABS_VALUE:
            errors[name] = [_("Enter a finite number between -10^12 and 10^12.")]
    if errors:
        raise ValidationError(errors)


def _save(instance, *, exclude_checks: bool = False) -> None:
    instance.full_clean(validate_constraints=not exclude_checks, validate_unique=not exclude_checks)
    instance.save()


def _recompute_from(*, partner_ids: Iterable[int], first_day: datetime.date | None) -> None:
    """Indicator progress counts in every quarter from the measurement's onwards: recompute up to today."""
    if first_day is None:
        return
    first, current = Quarter.of(first_day), Quarter.current()
    if first > current:
        return
    scores_recompute_request(partner_ids=partner_ids, quarters=quarter_range(first, current))


def _first_measured(indicators) -> datetime.date | None:
    return Measurement.objects.filter(indicator__in=indicators).aggregate(first=Min("date"))["first"]


# --- objectives ---------------------------------------------------------------------------------------------


@transaction.atomic
def objective_create(*, created_by=None, **data) -> Objective:
    _check_fields(data, OBJECTIVE_FIELDS)
    data["partner"] = _partner(data.get("partner"))
    objective = Objective(created_by=created_by, **data)
    objective._history_user = created_by
    _save(objective)
    return objective


@transaction.atomic
def objective_update(*, objective: Objective, user=None, **data) -> Objective:
    _check_fields(data, OBJECTIVE_FIELDS)
    objective = Objective.objects.select_for_update().get(pk=objective.pk)
    old_partner_id = objective.partner_id
    if "partner" in data:
        data["partner"] = _partner(data["partner"])
    for name, value in data.items():
        setattr(objective, name, value)
    objective._history_user = user
    _save(objective)
    if objective.partner_id != old_partner_id:
        _recompute_from(
            partner_ids={old_partner_id, objective.partner_id},
            first_day=_first_measured(objective.indicators.all()),
        )
    return objective


@transaction.atomic
def objective_delete(*, objective: Objective, user=None) -> None:
    first_day = _first_measured(objective.indicators.all())
    partner_id = objective.partner_id
    objective._history_user = user
    objective.delete()
    _recompute_from(partner_ids={partner_id}, first_day=first_day)


# --- indicators ---------------------------------------------------------------------------------------------


@transaction.atomic
def indicator_create(*, user=None, **data) -> Indicator:
    _check_fields(data, INDICATOR_FIELDS)
    indicator = Indicator(**data)
    _finite(indicator, ["baseline_value", "target_value"])
    indicator._history_user = user
    _save(indicator)
    return indicator


@transaction.atomic
def indicator_update(*, indicator: Indicator, user=None, **data) -> Indicator:
    _check_fields(data, INDICATOR_FIELDS)
    indicator = Indicator.objects.select_for_update().select_related("objective").get(pk=indicator.pk)
    old_partner_id = indicator.objective.partner_id
    for name, value in data.items():
        setattr(indicator, name, value)
    _finite(indicator, ["baseline_value", "target_value"])
    indicator._history_user = user
    _save(indicator)
    indicator.refresh_from_db()
    _recompute_from(
        partner_ids={old_partner_id, indicator.objective.partner_id}, first_day=_first_measured([indicator])
    )
    return indicator


@transaction.atomic
def indicator_delete(*, indicator: Indicator, user=None) -> None:
    first_day = _first_measured([indicator])
    partner_id = indicator.objective.partner_id
    indicator._history_user = user
    indicator.delete()
    _recompute_from(partner_ids={partner_id}, first_day=first_day)


# --- measurements -------------------------------------------------------------------------------------------


def _check_measurement(measurement: Measurement) -> None:
    _finite(measurement, ["value"])
    errors = {}
    if measurement.date and measurement.date > timezone.localdate():
        errors["date"] = [_("A measurement cannot be dated in the future.")]
    if (
        measurement.indicator_id
        and measurement.date
        and Measurement.objects.filter(indicator_id=measurement.indicator_id, date=measurement.date)
        .exclude(pk=measurement.pk)
        .exists()
    ):
        errors["date"] = [_("This indicator already has a measurement on this date.")]
    try:
        measurement.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def measurement_create(*, recorded_by=None, **data) -> Measurement:
    _check_fields(data, MEASUREMENT_FIELDS)
    measurement = Measurement(recorded_by=recorded_by, **data)
    _check_measurement(measurement)
    measurement._history_user = recorded_by
    measurement.save()
    _recompute_from(partner_ids={measurement.indicator.objective.partner_id}, first_day=measurement.date)
    return measurement


@transaction.atomic
def measurement_update(*, measurement: Measurement, user=None, **data) -> Measurement:
    _check_fields(data, MEASUREMENT_FIELDS)
    measurement = Measurement.objects.select_for_update().select_related("indicator__objective").get(pk=measurement.pk)
    old_partner_id, old_date = measurement.indicator.objective.partner_id, measurement.date
    for name, value in data.items():
        setattr(measurement, name, value)
    _check_measurement(measurement)
    measurement._history_user = user
    measurement.save()
    measurement.refresh_from_db()
    _recompute_from(
        partner_ids={old_partner_id, measurement.indicator.objective.partner_id},
        first_day=min(old_date, measurement.date),
    )
    return measurement


@transaction.atomic
def measurement_delete(*, measurement: Measurement, user=None) -> None:
    partner_id, day = measurement.indicator.objective.partner_id, measurement.date
    measurement._history_user = user
    measurement.delete()
    _recompute_from(partner_ids={partner_id}, first_day=day)


# --- alerts -------------------------------------------------------------------------------------------------


ALERT_NOTE_MAX = 500  # Alert.note's max_length


@transaction.atomic
def alerts_acknowledge(*, alert_ids, user, note: str = "") -> int:
    """An analyst has seen these drops (and may say why): the one rule for acknowledging, for one alert or
    many. Alerts already acknowledged keep their first acknowledgement (who, when, note); returns how many
    were acknowledged now. One UPDATE, whatever the number of alerts."""
    note = (note or "").strip()
    if len(note) > ALERT_NOTE_MAX:
        raise ValidationError({"note": [_("At most 500 characters.")]})
    return Alert.objects.filter(pk__in=list(alert_ids), acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=user, note=note
    )


def alert_acknowledge(*, alert: Alert, user, note: str = "") -> Alert:
    """One alert acknowledged (``alerts_acknowledge``); the alert as it now is."""
    alerts_acknowledge(alert_ids=[alert.pk], user=user, note=note)
    return Alert.objects.get(pk=alert.pk)
