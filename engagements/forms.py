"""Forms of the engagement pages. They only parse what the browser sent (types, and codes among the choices
offered); the limits and rules are the services' (``engagements.services.inputs``, ``engagements.rules``),
whose refusal is mapped back onto the fields and participant rows (``apply_service_errors``), so a rule is
written once for pages, API, import and admin.

Choices of partners, organizations and series are loaded once per request (``ReferenceChoices``) and
passed to every form and formset row, so a form with many participant rows still costs a fixed number
of queries; the services resolve the codes in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import Unit
from engagements import extensions, rules
from engagements.choices import Domain, EngagementType, ParticipantRole, Sensitivity, Status, ThreatFocus
from engagements.models import Engagement, ExerciseSeries
from organizations.models import Organization
from partners.models import PartnerNation

EMPTY = [("", "—")]


@dataclass
class ReferenceChoices:
    """Partner, organization and series options, each read with one query."""

    partners: list[tuple[str, str]]
    organizations: list[tuple[str, str]]
    series: list[tuple[str, str]]

    @classmethod
    def load(cls) -> ReferenceChoices:
        return cls(
            partners=[
                (iso3, f"{name} ({iso3})")
                for iso3, name in PartnerNation.objects.order_by("name").values_list("iso3", "name")
            ],
            organizations=[
                (acronym, f"{acronym} · {name}")
                for acronym, name in Organization.objects.order_by("acronym").values_list("acronym", "name")
            ],
            series=list(ExerciseSeries.objects.order_by("name").values_list("slug", "name")),
        )


@dataclass
class OwnerChoices:
    """The units a user may give an engagement to (their units and those below; admins: all) and the active
    users who may be its point of contact, each read with one query."""

    units: list[tuple[str, str]]
    contacts: list[tuple[str, str]]

    @classmethod
    def load(cls, user) -> OwnerChoices:
        scope = rules.writable_unit_ids(user)
        units = Unit.objects.order_by("code")
        if scope is not None:
            units = units.filter(pk__in=scope)
        people = get_user_model().objects.filter(is_active=True).order_by("username")
        return cls(
            units=[(code, f"{code} · {name}") for code, name in units.values_list("code", "name")],
            contacts=[
                (username, f"{first} {last} ({username})".strip() if first or last else username)
                for username, first, last in people.values_list("username", "first_name", "last_name")
            ],
        )


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


DATE_ERRORS = {"invalid": _("Enter a real date as YYYY-MM-DD, for example 2025-03-07.")}


class EngagementForm(forms.Form):
    """The engagement's own fields. ``version`` carries the version the planner started editing from."""

    required_css_class = "required"

    title = forms.CharField(label=_("Title"))
    engagement_type = forms.ChoiceField(label=_("Type"), choices=EMPTY + EngagementType.choices)
    domain = forms.ChoiceField(label=_("Domain"), choices=EMPTY + Domain.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices, initial=Status.PLANNED)
    start_date = forms.DateField(label=_("Start date"), widget=_date_input(), error_messages=DATE_ERRORS)
    end_date = forms.DateField(label=_("End date"), widget=_date_input(), error_messages=DATE_ERRORS)
    host_country = forms.ChoiceField(label=_("Host country"))
    location_name = forms.CharField(label=_("Location"), required=False)
    latitude = forms.DecimalField(
        label=_("Latitude"),
        required=False,
        help_text=_("Decimal degrees, -90 to 90 (north is positive)."),
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    longitude = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        help_text=_("Decimal degrees, -180 to 180 (east is positive)."),
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    organizations = forms.MultipleChoiceField(
        label=_("Frameworks (organizations)"), required=False, widget=forms.CheckboxSelectMultiple
    )
    threat_focus = forms.MultipleChoiceField(
        label=_("Threat focus"), choices=ThreatFocus.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    series = forms.ChoiceField(
        label=pgettext_lazy("the one series of an engagement", "Exercise series"), required=False
    )
    owner_unit = forms.ChoiceField(
        label=_("Owner unit"),
        required=False,
        help_text=_("Its planners write it; its approvers (and those above) approve it. Empty: your unit."),
    )
    point_of_contact = forms.ChoiceField(label=_("Point of contact"), required=False)
    sensitivity = forms.ChoiceField(
        label=_("Sensitivity"), choices=Sensitivity.choices, initial=Sensitivity.UNCLASSIFIED
    )
    budget_usd = forms.DecimalField(
        label=_("Budget (USD)"), required=False, widget=forms.NumberInput(attrs={"step": "0.01"})
    )
    funding_source = forms.CharField(label=_("Funding source"), required=False)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args,
        choices: ReferenceChoices,
        owners: OwnerChoices | None = None,
        status_choices: list[str] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        owners = owners or OwnerChoices.load(None)
        self.fields["owner_unit"].choices = EMPTY + owners.units
        self.fields["point_of_contact"].choices = [("", _("None"))] + owners.contacts
        for name in rules.ENGAGEMENT_FIELDS:
            if name not in self.fields:  # a field added to the model: parsed as the model's form field
                self.fields[name] = Engagement._meta.get_field(name).formfield()
        for extension in extensions.engagement_extensions():  # fields other apps own (engagements.extensions)
            self.fields[extension.name] = extension.form_field()
        self.fields["host_country"].choices = EMPTY + choices.partners
        self.fields["organizations"].choices = choices.organizations
        self.fields["series"].choices = [("", _("None"))] + choices.series
        if status_choices is not None:
            # Editing: the status can stay or make one of the moves the status policy allows now (as the
            # status buttons do): ``status_choices`` is the current status and those moves. Creating: the
            # statuses the user may give a new engagement (``rules.creation_statuses``).
            labels = dict(Status.choices)
            self.fields["status"].choices = [(value, labels[value]) for value in status_choices]

    @property
    def other_fields(self) -> list:
        """The fields the page does not lay out itself (added to the model since), shown in a group of their own."""
        return [self[name] for name in rules.ENGAGEMENT_FIELDS if name not in self.base_fields]

    @property
    def extension_fields(self) -> list:
        return [self[extension.name] for extension in extensions.engagement_extensions()]

    @staticmethod
    def initial_from(engagement) -> dict:
        return {
            **{name: getattr(engagement, name) for name in rules.ENGAGEMENT_FIELDS},
            "host_country": engagement.host_country.iso3,
            "organizations": [o.acronym for o in engagement.organizations.all()],
            "threat_focus": list(engagement.threat_focus or []),
            "series": engagement.series.slug if engagement.series_id else "",
            "owner_unit": engagement.owner_unit.code,
            "point_of_contact": engagement.point_of_contact.username if engagement.point_of_contact_id else "",
            "version": engagement.version,
            **{extension.name: extension.initial(engagement) for extension in extensions.engagement_extensions()},
        }

    def service_values(self) -> dict:
        """The cleaned values as the services take them (codes for partners, series and organizations)."""
        data = {name: self.cleaned_data.get(name) for name in rules.ENGAGEMENT_FIELDS}
        data["series"] = data["series"] or None
        data["point_of_contact"] = data["point_of_contact"] or None
        if not data["owner_unit"]:
            del data["owner_unit"]  # new: the planner's own unit (rules.default_owner_unit); editing: kept
        data["organizations"] = list(self.cleaned_data.get("organizations") or [])
        data["extensions"] = {
            extension.name: self.cleaned_data.get(extension.name) or []
            for extension in extensions.engagement_extensions()
        }
        return data


class ParticipantForm(forms.Form):
    """One row of the participants table: a partner, its role and how many personnel it sent."""

    partner = forms.ChoiceField(label=_("Partner"))
    # Optional like in the service: a row without a role is a participant.
    role = forms.ChoiceField(
        label=_("Role"), choices=ParticipantRole.choices, initial=ParticipantRole.PARTICIPANT, required=False
    )
    personnel = forms.IntegerField(
        label=_("Personnel"),
        required=False,
        initial=0,
        error_messages={"invalid": _("Enter a whole number of personnel.")},
        widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
    )

    def __init__(self, *args, choices: ReferenceChoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = EMPTY + choices.partners


class BaseParticipantFormSet(forms.BaseFormSet):
    """Rows left blank are ignored (the no-JavaScript page offers spare empty rows); rows marked for removal
    are dropped. The service judges the rows kept (the same partner twice, personnel limits) by position."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.empty_permitted = True  # an untouched row, spare or emptied, is simply not a participant
        form.use_required_attribute = False
        return form

    def kept_forms(self) -> list[forms.Form]:
        return [
            form
            for form in self.forms
            if not (self.can_delete and self._should_delete_form(form)) and form.has_changed() and form.is_valid()
        ]

    def service_rows(self) -> list[dict]:
        return [
            {
                "partner": form.cleaned_data["partner"],
                "role": form.cleaned_data.get("role") or ParticipantRole.PARTICIPANT,
                "personnel": form.cleaned_data.get("personnel") or 0,
            }
            for form in self.kept_forms()
        ]


def participant_formset(data=None, *, choices: ReferenceChoices, engagement=None, extra: int = 3):
    initial = None
    if engagement is not None and data is None:
        initial = [
            {"partner": p.partner.iso3, "role": p.role, "personnel": p.personnel}
            for p in engagement.participations.all()
        ]
    formset_class = forms.formset_factory(
        ParticipantForm, formset=BaseParticipantFormSet, extra=extra, can_delete=True, max_num=300, validate_max=True
    )
    return formset_class(data, initial=initial, prefix="participants", form_kwargs={"choices": choices})


def _messages(value) -> list[str]:
    return [str(m) for m in (value if isinstance(value, list | tuple) else [value])]


def apply_service_errors(
    error: ValidationError, *, form: forms.Form, formset: forms.BaseFormSet | None = None, only_new: bool = False
) -> None:
    """Put a service's refusal beside the fields it names; what names no field goes above the form.

    ``only_new``: the form had errors of its own already; a field that has one keeps only that one (the
    service was given no value for it, so its complaint would be beside the point).
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    rows = getattr(error, "rows", None)
    if rows and formset is not None:
        kept = formset.kept_forms()  # the rows the service was given, in order
        for index, by_field in rows.items():
            for name, messages in by_field.items():
                kept[index].add_error(name if name in kept[index].fields else None, messages)
    for key, messages in error.message_dict.items():
        if key == "participants" and rows and formset is not None:
            continue  # placed on their rows
        name = key.split(".", 1)[1] if key.startswith("after_action.") else key
        if name in form.fields and not form.fields[name].widget.is_hidden:
            if not (only_new and form.has_error(name)):
                form.add_error(name, messages)
        elif key == "participants" and formset is not None:
            formset._non_form_errors = formset.non_form_errors() + forms.utils.ErrorList(_messages(messages))
        else:
            form.add_error(None, messages)


RATING_CHOICES = [(n, str(n)) for n in range(1, 6)]


class AfterActionForm(forms.Form):
    """The after-action report: a summary, three ratings from 1 (poor) to 5 (excellent), lessons and advice."""

    required_css_class = "required"

    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 5}))
    # Integers, not a closed choice: a value outside 1-5 reaches the service, whose message explains the scale.
    interoperability_rating = forms.IntegerField(
        label=_("Interoperability"), widget=forms.RadioSelect(choices=RATING_CHOICES)
    )
    capacity_rating = forms.IntegerField(label=_("Capacity"), widget=forms.RadioSelect(choices=RATING_CHOICES))
    trust_rating = forms.IntegerField(label=_("Trust"), widget=forms.RadioSelect(choices=RATING_CHOICES))
    lessons_learned = forms.CharField(
        label=_("Lessons learned"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    recommendations = forms.CharField(
        label=_("Recommendations"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    FIELDS = rules.AAR_FIELDS

    @classmethod
    def initial_from(cls, report) -> dict:
        return {name: getattr(report, name) for name in cls.FIELDS} if report is not None else {}

    def service_values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.FIELDS}


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)
    version = forms.IntegerField(required=False)
    # Cancelling and reopening need it; the service says when it is missing (rules.reason_refusal).
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        strip=True,
        help_text=_("Kept in the engagement's history: who changed its status, when and why."),
        widget=forms.TextInput(attrs={"size": 60}),
    )


class ApprovalForm(forms.Form):
    """Approve, refuse or ask for approval: the comment (required to refuse: the service says so)."""

    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class DeleteForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for deleting"),
        help_text=_("Kept with the record: who deleted it, when and why."),
        widget=forms.TextInput(attrs={"size": 60}),
    )
