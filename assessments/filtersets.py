"""One filter class per list, shared by the pages and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from assessments.choices import Confidence, LineOfEffort, ObjectiveStatus, RunStatus, RunTrigger
from assessments.models import Alert, AssessmentRun, Indicator, Measurement, Objective, PartnerScore
from assessments.periods import PeriodError, Quarter
from assessments.selectors import alert_member_of_on_period_end, member_of_on_period_end
from core.api.schema import QUARTER_SCHEMA
from core.filters import MultiValueChoiceFilter, MultiValueFilter, StableOrderingFilter, StrictBooleanFilter


class QuarterField(forms.CharField):
    """A ``YYYY-Qn`` label, cleaned to a Quarter; a bad label gets a message saying how to write it."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return Quarter.parse(value)
        except PeriodError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc


@extend_schema_field({**QUARTER_SCHEMA, "description": "A calendar quarter, YYYY-Qn, e.g. 2025-Q3."})
class QuarterFilter(django_filters.Filter):
    field_class = QuarterField

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(**{self.field_name: value.start})


def _codes(values: list[str]) -> list[str]:
    return [code.upper() for code in values]


SCORE_ORDERING = (
    ("overall", "overall"),
    ("delta_overall", "delta_overall"),
    ("period", "period"),
    ("partner__name", "partner"),
    ("engagement_count", "engagement_count"),
    ("report_count", "report_count"),
    ("activity", "activity"),
    ("interoperability", "interoperability"),
    ("capacity", "capacity"),
    ("trust", "trust"),
    ("continuity", "continuity"),
    ("multilateral", "multilateral"),
    ("objectives", "objectives"),
)


class _PartnerQuarterFilterSet(django_filters.FilterSet):
    """Filters of rows that belong to one partner and one quarter (scores, alerts)."""

    partner = MultiValueFilter(method="filter_partner", label=_("Partner"), help_text=_("ISO alpha-3 code"))
    period = QuarterFilter(field_name="period", label=_("Quarter"), help_text=_("YYYY-Qn, e.g. 2025-Q3"))
    region = MultiValueFilter(field_name="partner__region", lookup_expr="iexact", label=_("Region"))
    subregion = MultiValueFilter(field_name="partner__subregion", lookup_expr="iexact", label=_("Subregion"))
    intermediate_region = MultiValueFilter(
        field_name="partner__intermediate_region",
        lookup_expr="iexact",
        label=_("Intermediate region"),
        help_text=_("UN M49 intermediate region, e.g. Western Africa"),
    )
    organization = MultiValueFilter(
        method="filter_organization",
        label=_("Organization"),
        help_text=_("Acronym: partners that were members on the last day of the row's quarter"),
    )
    member_of = None  # acronym -> condition on the rows: the partner was a member on the quarter's last day

    def filter_partner(self, queryset, name, value):
        codes = _codes(value)
        return queryset.filter(partner__iso3__in=codes) if codes else queryset

    def filter_organization(self, queryset, name, value):
        if not value:
            return queryset
        condition = Q()
        for acronym in value:
            condition |= type(self).member_of(acronym)
        return queryset.filter(condition)


class PartnerScoreFilterSet(_PartnerQuarterFilterSet):
    confidence = django_filters.ChoiceFilter(
        choices=Confidence.choices, label=_("Confidence"), help_text=_("low, medium or high")
    )
    ordering = StableOrderingFilter(fields=SCORE_ORDERING, label=_("Order by"))
    member_of = staticmethod(member_of_on_period_end)

    class Meta:
        model = PartnerScore
        fields = []


class AlertFilterSet(_PartnerQuarterFilterSet):
    acknowledged = StrictBooleanFilter(
        field_name="acknowledged_at",
        lookup_expr="isnull",
        exclude=True,
        label=_("Acknowledged"),
        help_text=_("true: acknowledged alerts only; false: open alerts only"),
    )
    ordering = StableOrderingFilter(
        fields=(
            ("period", "period"),
            ("delta_overall", "delta_overall"),
            ("overall", "overall"),
            ("partner__name", "partner"),
            ("raised_at", "raised_at"),
            ("acknowledged_at", "acknowledged_at"),
        ),
        label=_("Order by"),
    )
    member_of = staticmethod(alert_member_of_on_period_end)

    class Meta:
        model = Alert
        fields = []


class AssessmentRunFilterSet(django_filters.FilterSet):
    status = MultiValueChoiceFilter(choices=RunStatus.choices, distinct=False, label=_("Status"))
    trigger = MultiValueChoiceFilter(choices=RunTrigger.choices, distinct=False, label=_("Trigger"))

    class Meta:
        model = AssessmentRun
        fields = []


class ObjectiveFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), help_text=_("Title or description"))
    partner = MultiValueFilter(method="filter_partner", label=_("Partner"), help_text=_("ISO alpha-3 code"))
    region = MultiValueFilter(field_name="partner__region", lookup_expr="iexact", label=_("Region"))
    line_of_effort = MultiValueChoiceFilter(choices=LineOfEffort.choices, distinct=False, label=_("Line of effort"))
    status = MultiValueChoiceFilter(choices=ObjectiveStatus.choices, distinct=False, label=_("Status"))

    class Meta:
        model = Objective
        fields = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))

    def filter_partner(self, queryset, name, value):
        codes = _codes(value)
        return queryset.filter(partner__iso3__in=codes) if codes else queryset


class IndicatorFilterSet(django_filters.FilterSet):
    objective = django_filters.NumberFilter(field_name="objective_id", label=_("Objective"))
    partner = MultiValueFilter(method="filter_partner", label=_("Partner"), help_text=_("ISO alpha-3 code"))

    class Meta:
        model = Indicator
        fields = []

    def filter_partner(self, queryset, name, value):
        codes = _codes(value)
        return queryset.filter(objective__partner__iso3__in=codes) if codes else queryset


class MeasurementFilterSet(django_filters.FilterSet):
    indicator = django_filters.NumberFilter(field_name="indicator_id", label=_("Indicator"))
    partner = MultiValueFilter(method="filter_partner", label=_("Partner"), help_text=_("ISO alpha-3 code"))
    date_after = django_filters.DateFilter(field_name="date", lookup_expr="gte", label=_("On or after"))
    date_before = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("On or before"))

    class Meta:
        model = Measurement
        fields = []

    def filter_partner(self, queryset, name, value):
        codes = _codes(value)
        return queryset.filter(indicator__objective__partner__iso3__in=codes) if codes else queryset
