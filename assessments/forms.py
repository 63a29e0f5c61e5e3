"""Forms of the analyst pages. They only shape input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from assessments.dashboard_selectors import comparison_request_clean
from assessments.filtersets import QuarterField
from assessments.models import Indicator, Measurement, Objective
from assessments.network import network_request_from
from core.filters import values_of
from partners import selectors as partner_selectors
from partners.models import PartnerNation


class PartnerCodeField(forms.CharField):
    def to_python(self, value):
        value = (super().to_python(value) or "").strip().upper()
        if not value:
            return None
        partner = PartnerNation.objects.filter(iso3=value).first()
        if partner is None:
            raise forms.ValidationError(
                _("Unknown country code “%(code)s”: use an ISO alpha-3 code such as KEN."), params={"code": value}
            )
        return partner

    def prepare_value(self, value):
        if isinstance(value, PartnerNation):
            return value.iso3
        if isinstance(value, int):
            partner = PartnerNation.objects.filter(pk=value).first()
            return partner.iso3 if partner else value
        return value


class ObjectiveForm(forms.ModelForm):
    partner = PartnerCodeField(
        label=_("Partner"), help_text=_("ISO alpha-3 code, e.g. KEN"), widget=forms.TextInput(attrs={"maxlength": 3})
    )

    class Meta:
        model = Objective
        fields = ["partner", "line_of_effort", "title", "description", "target_date", "status"]
        widgets = {
            "target_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["partner"] = self.instance.partner.iso3


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = ["objective", "name", "unit", "baseline_value", "target_value", "baseline_date"]
        widgets = {"baseline_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        help_texts = {"target_value": _("May be below the baseline when less is better (e.g. incidents).")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["objective"].queryset = Objective.objects.select_related("partner").order_by(
            "partner__name", "title"
        )
        self.fields["objective"].label_from_instance = lambda o: f"{o.partner.iso3} · {o.title}"

    def _post_clean(self):
        pass  # the service validates the indicator (target == baseline is reported beside the target)


class MeasurementForm(forms.ModelForm):
    class Meta:
        model = Measurement
        fields = ["indicator", "date", "value", "source"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = Indicator.objects.select_related("objective__partner").order_by(
            "objective__partner__name", "objective__title", "name"
        )
        self.fields["indicator"].label_from_instance = lambda i: (
            f"{i.objective.partner.iso3} · {i.objective.title} · {i.name}"
        )

    def _post_clean(self):
        pass  # the service validates the measurement (a second one on the same day is reported beside the date)


class RunRequestForm(forms.Form):
    """Start a run for a range of quarters (both empty: the current and the previous quarter)."""

    first = QuarterField(label=_("From quarter"), required=False, help_text=_("YYYY-Qn, e.g. 2024-Q1"))
    last = QuarterField(label=_("To quarter"), required=False, help_text=_("YYYY-Qn; the same as From if empty"))

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first and not last:
            data["last"] = last = first
        if last and not first:
            data["first"] = first = last
        if first and last and last < first:
            self.add_error("last", _("The last quarter cannot be before the first."))
        return data

    def periods(self) -> list[str] | None:
        from assessments.periods import quarter_range

        first, last = self.cleaned_data.get("first"), self.cleaned_data.get("last")
        if not first:
            return None
        return [str(q) for q in quarter_range(first, last)]


class AlertAcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class DashboardFilterForm(forms.Form):
    """The filters of the overview, kept in the URL: quarter, region, subregion, intermediate region,
    organization.

    The choices come from the view (reference data), so an unknown value is reported beside its field.
    """

    period = QuarterField(label=_("Quarter"), required=False, help_text=_("YYYY-Qn, e.g. 2025-Q3"))
    region = forms.ChoiceField(label=_("Region"), required=False)
    subregion = forms.ChoiceField(label=_("Subregion"), required=False)
    intermediate_region = forms.ChoiceField(label=_("Intermediate region"), required=False)
    organization = forms.ChoiceField(label=_("Member of"), required=False)

    @classmethod
    def with_reference_choices(cls, data):
        """The form offering today's reference data: the M49 regions of the partners and the organizations."""
        return cls(
            data,
            regions=partner_selectors.region_choices("region"),
            subregions=partner_selectors.region_choices("subregion"),
            intermediate_regions=partner_selectors.region_choices("intermediate_region"),
            organizations=partner_selectors.organization_acronyms(),
        )

    def __init__(self, *args, regions=(), subregions=(), intermediate_regions=(), organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        for name, values, everything in (
            ("region", regions, _("All regions")),
            ("subregion", subregions, _("All subregions")),
            ("intermediate_region", intermediate_regions, _("All intermediate regions")),
            ("organization", organizations, _("Any organization")),
        ):
            field = self.fields[name]
            field.choices = [("", everything), *[(value, value) for value in values]]
            field.error_messages["invalid_choice"] = _("Unknown %(field)s “%(value)s”: pick one from the list.") % {
                "field": str(field.label).lower(),
                "value": "%(value)s",
            }


class RecomputeForm(forms.Form):
    """ "Recompute now" on a score page: the quarter shown, optionally one partner, and where to go back."""

    period = QuarterField(label=_("Quarter"), required=False)
    partner = PartnerCodeField(label=_("Partner"), required=False)
    next = forms.CharField(required=False, max_length=2000)


class AlertFilterForm(DashboardFilterForm):
    """The alerts workspace's filters: the overview's (any quarter by default) and whether acknowledged."""

    acknowledged = forms.ChoiceField(
        label=_("Acknowledged"),
        required=False,
        choices=[("", _("Open and acknowledged")), ("no", _("No")), ("yes", _("Yes"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["acknowledged"].error_messages["invalid_choice"] = _("Choose yes, no or nothing.")


class AlertBulkAcknowledgeForm(forms.Form):
    """Acknowledge the ticked alerts with one note."""

    alerts = forms.ModelMultipleChoiceField(
        label=_("Alerts"),
        queryset=None,
        error_messages={
            "required": _("Tick at least one alert to acknowledge."),
            "invalid_choice": _("Alert %(value)s does not exist (any more): reload the page."),
            "invalid_pk_value": _("“%(pk)s” is not an alert number."),
        },
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, alerts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["alerts"].queryset = alerts


class PartnerCodesInput(forms.TextInput):
    """One text box for several ISO codes; repeated parameters and commas alike (``core.filters.values_of``)."""

    def value_from_datadict(self, data, files, name):
        return ", ".join(values_of(data, name))


class PartnerComparisonForm(forms.Form):
    """Which partners to compare and for which quarter. The limits are checked by
    ``dashboard_selectors.comparison_request_clean`` (the API asks it too); this form maps its errors."""

    partners = forms.CharField(
        label=_("Partners"),
        required=False,
        widget=PartnerCodesInput(attrs={"placeholder": "GHA, SEN, CIV", "autocomplete": "off"}),
        help_text=_("2 to 6 ISO alpha-3 codes, separated by commas"),
    )
    period = forms.CharField(
        label=_("Quarter"), required=False, help_text=_("YYYY-Qn, e.g. 2025-Q3; the latest scored by default")
    )

    def clean(self):
        data = super().clean()
        try:
            data["chosen"], data["quarter"] = comparison_request_clean(
                codes=values_of(self.data, "partners"), period=data.get("period")
            )
        except forms.ValidationError as exc:
            for field, errors in exc.error_dict.items():
                self.add_error(field, errors)
        return data


class ScoringModelDraftForm(forms.Form):
    """A draft scoring model: one number per component weight and the model's parameters. Only types are
    checked here; what a valid model is (ScoringParameters.clean) the service asks, and its messages come back
    beside the fields (the weights', which are one field of the model, above the form)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    half_life_days = forms.IntegerField(
        label=_("Half-life (days)"), help_text=_("An engagement's weight halves every this many days.")
    )
    lookback_quarters = forms.IntegerField(
        label=_("Look-back (quarters)"), help_text=_("Quarters of engagements a score rests on.")
    )
    activity_scale = forms.FloatField(
        label=_("Activity scale"), help_text=_("Weighted engagements for an activity of 63.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from assessments.choices import Component

        for value, label in Component.choices:
            self.fields[f"weight_{value}"] = forms.FloatField(label=_("Weight: %(component)s") % {"component": label})

    @classmethod
    def initial_from(cls, parameters: dict, **extra) -> dict:
        weights = parameters.get("weights") or {}
        return {
            **{name: value for name, value in parameters.items() if name != "weights"},
            **{f"weight_{name}": value for name, value in weights.items()},
            **extra,
        }

    def weight_fields(self):
        return [self[name] for name in self.fields if name.startswith("weight_")]

    def parameter_fields(self):
        return [self[name] for name in self.fields if not name.startswith("weight_")]

    def draft_data(self) -> dict:
        data = {name: value for name, value in self.cleaned_data.items() if not name.startswith("weight_")}
        data["weights"] = {
            name.removeprefix("weight_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("weight_")
        }
        return data


class NetworkFilterForm(forms.Form):
    """The cooperation network's scope and window, as the URL names them (``region``, ``subregion``,
    ``intermediate_region``, ``organization``, ``from``, ``to``). Lists offer today's reference data; the
    rules are ``network.network_request_clean``'s (the API asks it too): this form maps its errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label, level, everything in (
            ("region", _("Region"), "region", _("Any region")),
            ("subregion", _("Subregion"), "subregion", _("Any subregion")),
            ("intermediate_region", _("Intermediate region"), "intermediate_region", _("Any intermediate region")),
        ):
            choices = [("", everything), *[(v, v) for v in partner_selectors.region_choices(level)]]
            self.fields[name] = forms.CharField(label=label, required=False, widget=forms.Select(choices=choices))
        organizations = [("", _("Any organization")), *[(v, v) for v in partner_selectors.organization_acronyms()]]
        self.fields["organization"] = forms.CharField(
            label=_("Organization"), required=False, widget=forms.Select(choices=organizations)
        )
        self.fields["from"] = forms.CharField(
            label=_("From quarter"),
            required=False,
            help_text=_("YYYY-Qn; by default the eight quarters ending with To"),
        )
        self.fields["to"] = forms.CharField(
            label=_("To quarter"),
            required=False,
            help_text=_("YYYY-Qn; the latest scored quarter that has ended by default"),
        )

    def clean(self):
        data = super().clean()
        try:
            data["request"] = network_request_from(data)
        except forms.ValidationError as exc:
            for field, errors in exc.error_dict.items():
                self.add_error(field, errors)
        return data
