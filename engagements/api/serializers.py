"""Shapes of the engagement API. Serializers parse types and shapes (their limits read from the model, so the
schema documents them); the rules and the checks of references live in engagements.services and .rules.

Reads format rows that engagements.selectors loaded in full (no query per row). Writes are turned into the
keyword arguments of the services by ``service_arguments``; the view calls the service.
"""

from __future__ import annotations

import decimal
import re

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.utils.field_mapping import get_field_kwargs

from core.api.pagination import decode_cursor
from core.api.serializers import QuickReadsMixin
from core.filters import values_of
from core.models import Unit
from engagements import extensions
from engagements.choices import (
    ChangeAction,
    Domain,
    EngagementType,
    ParticipantRole,
    Sensitivity,
    Status,
    ThreatFocus,
    WarningKind,
)
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation, SavedFilter
from engagements.rules import ENGAGEMENT_FIELDS

_SURROGATES = re.compile("[\ud800-\udfff]")


def _no_surrogates(value: str) -> None:
    # Lone surrogates can arrive through JSON escapes ("\ud800") and cannot be stored as UTF-8.
    if isinstance(value, str) and _SURROGATES.search(value):
        raise serializers.ValidationError(_("Remove the invalid (unpaired surrogate) character."))


class TextField(serializers.CharField):
    """A CharField that also refuses characters no database can store (null bytes, lone surrogates)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(_no_surrogates)


_LIMITS = ("max_length", "min_value", "max_value", "max_digits", "decimal_places")


def limits(model, name: str) -> dict:
    """The model field's limits as serializer arguments (DRF's own mapping), for parsing and the schema."""
    kwargs = get_field_kwargs(name, model._meta.get_field(name))
    return {key: value for key, value in kwargs.items() if key in _LIMITS}


class CoordinateField(serializers.DecimalField):
    """Latitude or longitude in degrees: a JSON number, rounded to 5 decimals (about a metre)."""

    def __init__(self, name: str, **kwargs):
        super().__init__(
            **limits(Engagement, name),
            coerce_to_string=False,
            allow_null=True,
            required=False,
            **kwargs,
        )

    def validate_precision(self, value):
        # GPS coordinates often carry more decimals than are kept: round rather than refuse them. Rounded in
        # the default context, not DRF's (whose precision is max_digits): 999.999999 rounds to 1000.00000, one
        # digit too many, which DRF's context raises as InvalidOperation and the check below refuses as a 400.
        if value.is_finite() and value.adjusted() < 20:
            value = value.quantize(decimal.Decimal(1).scaleb(-self.decimal_places), rounding=self.rounding)
        return super().validate_precision(value)


class ParticipantSerializer(serializers.Serializer):
    partner = TextField(max_length=3, help_text=_("ISO 3166-1 alpha-3 code of the partner nation, e.g. MAR."))
    role = serializers.ChoiceField(choices=ParticipantRole.choices, default=ParticipantRole.PARTICIPANT)
    personnel = serializers.IntegerField(**limits(Participation, "personnel"), default=0)

    def to_representation(self, participation):
        return {
            "partner": participation.partner.iso3,
            "role": participation.role,
            "personnel": participation.personnel,
        }


class AcronymListField(serializers.ListField):
    """Organizations written and read as their acronyms."""

    def __init__(self, **kwargs):
        super().__init__(child=TextField(max_length=40), **kwargs)

    def to_representation(self, organizations):
        rows = organizations if isinstance(organizations, list) else organizations.all()  # a list: loaded
        return sorted(o.acronym for o in rows)


class AfterActionSerializer(QuickReadsMixin, serializers.Serializer):
    read_model = AfterActionReport
    summary = TextField(**limits(AfterActionReport, "summary"), help_text=_("What happened and what it achieved."))
    interoperability_rating = serializers.IntegerField(
        **limits(AfterActionReport, "interoperability_rating"), help_text=_("1 (poor) to 5.")
    )
    capacity_rating = serializers.IntegerField(
        **limits(AfterActionReport, "capacity_rating"), help_text=_("1 (poor) to 5.")
    )
    trust_rating = serializers.IntegerField(**limits(AfterActionReport, "trust_rating"), help_text=_("1 (poor) to 5."))
    lessons_learned = TextField(**limits(AfterActionReport, "lessons_learned"), allow_blank=True, required=False)
    recommendations = TextField(**limits(AfterActionReport, "recommendations"), allow_blank=True, required=False)
    submitted_by = serializers.SerializerMethodField(help_text=_("Username of who submitted it first."))
    submitted_at = serializers.DateTimeField(read_only=True)

    def get_submitted_by(self, report) -> str | None:
        return report.submitted_by.get_username() if report.submitted_by_id else None


class WarningSerializer(serializers.Serializer):
    """A deconfliction finding (``engagements.deconfliction``): one per other engagement, ranked."""

    kind = serializers.ChoiceField(choices=WarningKind.choices)
    rank = serializers.IntegerField(help_text=_("1 (likely duplicate) to 4 (long mission): the order shown."))
    severity = serializers.ChoiceField(choices=["high", "medium", "low"])
    message = serializers.CharField()
    engagement_id = serializers.IntegerField(help_text=_("The other engagement."))
    reference = serializers.CharField()
    title = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    host_country = serializers.CharField(help_text=_("ISO alpha-3 code of the other engagement's host."))
    partners = serializers.ListField(
        child=serializers.CharField(), help_text=_("Partners (ISO alpha-3) taking part in both.")
    )


class AvailabilityQuerySerializer(serializers.Serializer):
    """``GET /api/v1/engagements/availability/``: dates and countries, nothing else."""

    start = serializers.DateField(help_text=_("First day (YYYY-MM-DD)."))
    end = serializers.DateField(help_text=_("Last day (YYYY-MM-DD), on or after start."))
    partner = serializers.ListField(
        child=serializers.CharField(max_length=3),
        required=False,
        help_text=_("ISO alpha-3 codes; several values: repeat the parameter or separate them with commas."),
    )
    host = serializers.CharField(required=False, allow_blank=True, max_length=3, help_text=_("ISO alpha-3 code."))

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):
            data = {key: data.get(key) for key in data if key != "partner"} | {"partner": values_of(data, "partner")}
        return super().to_internal_value(data)

    def validate(self, attrs):
        errors = {}
        if attrs["end"] < attrs["start"]:
            errors["end"] = [
                _("The end date cannot be before the start date (%(start)s).") % {"start": attrs["start"].isoformat()}
            ]
        if not attrs.get("partner") and not (attrs.get("host") or "").strip():
            errors["partner"] = [_("Give at least one partner or a host country.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AvailabilitySerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    available = serializers.BooleanField(help_text=_("True when no engagement you may read is in the way."))
    findings = WarningSerializer(many=True)


class FindingDismissSerializer(serializers.Serializer):
    engagement = serializers.IntegerField(help_text=_("The other engagement of the finding (its id)."))
    note = serializers.CharField(help_text=_("Why the finding is not a concern (max 300)."), allow_blank=True)


class FindingDismissalSerializer(serializers.Serializer):
    engagement = serializers.IntegerField()
    note = serializers.CharField()
    dismissed_by = serializers.CharField(allow_null=True)
    dismissed_at = serializers.DateTimeField()


class FindingsSerializer(serializers.Serializer):
    findings = WarningSerializer(many=True)
    dismissed = FindingDismissalSerializer(many=True)


ENGAGEMENT_EXAMPLE = {
    "title": "African Lion 2026",
    "engagement_type": "exercise",
    "domain": "joint",
    "status": "planned",
    "start_date": "2026-05-04",
    "end_date": "2026-05-22",
    "host_country": "MAR",
    "location_name": "Tan-Tan",
    "latitude": 28.43799,
    "longitude": -11.10321,
    "threat_focus": ["terrorism", "deterrence"],
    "description": "Combined joint exercise across Morocco, Ghana, Senegal and Tunisia.",
    "budget_usd": "1500000.00",
    "funding_source": "Joint exercise programme",
    "sensitivity": "unclassified",
    "series": None,
    "owner_unit": "AFRICOM-J5",
    "point_of_contact": "planner",
    "participants": [
        {"partner": "MAR", "role": "host", "personnel": 3500},
        {"partner": "USA", "role": "lead", "personnel": 4200},
        {"partner": "SEN", "role": "participant", "personnel": 300},
    ],
    "organizations": ["AU"],
    "after_action": None,
}


ENGAGEMENT_RESPONSE_EXAMPLE = {
    "id": 42,
    "reference": "ENG-2026-000042",
    **ENGAGEMENT_EXAMPLE,
    "created_at": "2026-01-12T09:30:00Z",
    "updated_at": "2026-01-12T09:30:00Z",
    "version": 1,
    "warnings": [
        {
            "kind": "host_overlap",
            "message": "ENG-2026-000017 “Maritime Sentinel” is also in the same host country from "
            "2026-05-10 to 2026-05-14.",
            "engagement_id": 17,
            "reference": "ENG-2026-000017",
            "title": "Maritime Sentinel",
        }
    ],
}


@extend_schema_serializer(
    examples=[
        OpenApiExample("An exercise with three participants", value=ENGAGEMENT_EXAMPLE, request_only=True),
        OpenApiExample(
            "With a deconfliction warning",
            value=ENGAGEMENT_RESPONSE_EXAMPLE,
            response_only=True,
            status_codes=["200", "201"],
        ),
    ]
)
class EngagementSerializer(QuickReadsMixin, serializers.ModelSerializer):
    """The fields are the model's (``engagements.rules``): those declared here need their own shape (codes for
    references, nested rows); a field added to the model is built by DRF from it, limits included."""

    id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True, help_text=_("ENG-<start year>-<number>, generated."))
    title = TextField(**limits(Engagement, "title"))
    engagement_type = serializers.ChoiceField(choices=EngagementType.choices)
    domain = serializers.ChoiceField(choices=Domain.choices)
    status = serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        help_text=_(
            "planned when not given. Any status on creation; afterwards only forward (planned, approved, in_progress, completed), "
            "or cancelled from any status but completed, and never cancelled once it has an after-action report; "
            "in_progress needs start_date <= today and completed end_date <= today. Planned to approved only "
            "through the approve action (four-eyes); an approved engagement whose dates, host or participants "
            "change goes back to planned."
        ),
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField(help_text=_("On or after start_date."))
    host_country = TextField(max_length=3, source="host_country.iso3", help_text=_("ISO alpha-3 code."))
    location_name = TextField(**limits(Engagement, "location_name"), allow_blank=True, required=False)
    latitude = CoordinateField("latitude", help_text=_("Degrees, -90 to 90; give both coordinates or neither."))
    longitude = CoordinateField("longitude", help_text=_("Degrees, -180 to 180."))
    threat_focus = serializers.ListField(
        child=serializers.ChoiceField(choices=ThreatFocus.choices), required=False, max_length=20
    )
    description = TextField(**limits(Engagement, "description"), allow_blank=True, required=False)
    budget_usd = serializers.DecimalField(**limits(Engagement, "budget_usd"), allow_null=True, required=False)
    funding_source = TextField(**limits(Engagement, "funding_source"), allow_blank=True, required=False)
    sensitivity = serializers.ChoiceField(
        choices=Sensitivity.choices,
        required=False,
        help_text=_("unclassified when not given. Restricted engagements are hidden from viewers."),
    )
    series = TextField(
        max_length=80,
        source="series.slug",
        allow_null=True,
        required=False,
        help_text=_("Slug of an exercise series (see /api/v1/series/), or null."),
    )
    owner_unit = TextField(
        **limits(Unit, "code"),
        source="owner_unit.code",
        required=False,
        help_text=_(
            "Code of the unit that owns it (see /api/v1/units/). When not given on creation: your unit if you "
            "belong to exactly one (admins: the default unit). Planners write only engagements of their units "
            "and the units below them."
        ),
    )
    point_of_contact = TextField(
        max_length=150,
        source="point_of_contact.username",
        allow_null=True,
        required=False,
        help_text=_("Username of the active user who answers for it (and writes its after-action report), or null."),
    )
    participants = ParticipantSerializer(
        many=True,
        source="participations",
        required=False,
        max_length=500,
        help_text=_("The partner nations taking part; replaces the whole list when given."),
    )
    organizations = AcronymListField(
        required=False,
        max_length=100,
        help_text=_("Acronyms of the organizations it ran under (see /api/v1/organizations/)."),
    )
    after_action = AfterActionSerializer(
        allow_null=True,
        required=False,
        help_text=_(
            "The after-action report (in_progress or completed engagements only); an existing report is "
            "edited field by field and cannot be removed."
        ),
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        help_text=_(
            "Increases with every change. Send the version you read with PUT or PATCH: if someone changed the "
            "engagement since, the answer is 409 Conflict and nothing is written."
        ),
    )
    warnings = serializers.SerializerMethodField(
        help_text=_("Deconfliction warnings (overlaps, likely duplicates) after a create or an update; else empty.")
    )

    class Meta:
        model = Engagement
        fields = [
            "id",
            "reference",
            *ENGAGEMENT_FIELDS,
            "participants",
            "organizations",
            "after_action",
            "created_at",
            "updated_at",
            "version",
            "warnings",
        ]

    def get_fields(self):
        fields = super().get_fields()
        for extension in extensions.engagement_extensions():  # fields other apps own (engagements.extensions)
            fields[extension.name] = extension.api_field()
        return fields

    @extend_schema_field(WarningSerializer(many=True))
    def get_warnings(self, engagement) -> list[dict]:
        warnings = self.context.get("warnings")
        # A list's rows have none: no serializer built per row for an empty list.
        return WarningSerializer(warnings, many=True).data if warnings else []

    def service_arguments(self) -> dict:
        """The validated input as keyword arguments of engagement_create / engagement_update."""
        data = dict(self.validated_data)
        arguments = {}
        if "host_country" in data:
            arguments["host_country"] = data.pop("host_country")["iso3"].strip().upper()
        if "series" in data:
            series = data.pop("series")
            arguments["series"] = series["slug"] if series else None
        if "owner_unit" in data:
            arguments["owner_unit"] = data.pop("owner_unit")["code"]
        if "point_of_contact" in data:
            contact = data.pop("point_of_contact")
            arguments["point_of_contact"] = contact["username"] if contact else None
        if "version" in data:
            arguments["expected_version"] = data.pop("version")
        if "participations" in data:
            arguments["participants"] = [dict(row) for row in data.pop("participations")]
        if "after_action" in data:
            report = data.pop("after_action")
            arguments["after_action"] = dict(report) if report is not None else None
        given = {e.name: data.pop(e.name) for e in extensions.engagement_extensions() if e.name in data}
        if given:
            arguments["extensions"] = given
        arguments.update(data)
        return arguments


class EngagementStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, help_text=_("The version you read; 409 if it changed.")
    )


class ApprovalInputSerializer(serializers.Serializer):
    comment = TextField(
        max_length=2000,
        allow_blank=True,
        required=False,
        default="",
        help_text=_("Why: required to refuse; optional to approve or to ask for approval."),
    )
    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, help_text=_("The version you read; 409 if it changed.")
    )


class ApprovalSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["requested", "approved", "refused", "reset"])
    user = serializers.CharField(source="user.username", allow_null=True, default=None)
    at = serializers.DateTimeField()
    comment = serializers.CharField()


class EngagementDeleteSerializer(serializers.Serializer):
    reason = TextField(
        **limits(Engagement, "deletion_reason"), help_text=_("Why the engagement is deleted; kept with the record.")
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "series",
            value={
                "slug": "african-lion",
                "name": "African Lion",
                "description": "Annual combined exercise led from Morocco.",
                "lead_organization": None,
                "iteration_count": 6,
            },
            response_only=True,
        )
    ]
)
class ExerciseSeriesSerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(
        max_length=80, required=False, help_text=_("Made from the name when not given, e.g. african-lion.")
    )
    name = TextField(**limits(ExerciseSeries, "name"))
    description = TextField(allow_blank=True, required=False, default="")
    lead_organization = TextField(
        max_length=40,
        source="lead_organization.acronym",
        allow_null=True,
        required=False,
        default=None,
        help_text=_("Acronym of the organization that leads the series, or null."),
    )
    iteration_count = serializers.IntegerField(read_only=True, help_text=_("Engagements in the series."))

    class Meta:
        model = ExerciseSeries
        fields = ["slug", "name", "description", "lead_organization", "iteration_count"]

    def service_arguments(self) -> dict:
        data = dict(self.validated_data)
        lead = data.pop("lead_organization", None)
        return {**data, "lead_organization": lead["acronym"] if lead else None}


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "a deletion",
            value={
                "id": 42,
                "reference": "ENG-2026-000042",
                "action": "deleted",
                "time": "2026-02-03T10:15:00.123456Z",
                "user": "planner",
            },
            response_only=True,
        )
    ]
)
class ChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="row_engagement", help_text=_("The engagement's id."))
    reference = serializers.CharField(source="row_reference")
    action = serializers.ChoiceField(
        source="row_action",
        choices=ChangeAction.choices,
        help_text=_(
            "A change to an engagement's participants, frameworks or after-action report is 'updated'. "
            "'withdrawn': the engagement became restricted and you may not read restricted engagements (drop "
            "your copy); when it stops being restricted it comes back as 'created'."
        ),
    )
    time = serializers.DateTimeField(source="row_time")
    user = serializers.CharField(
        source="row_user", allow_null=True, help_text=_("Username of who made the change, null if unknown.")
    )


class ChangeQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(
        required=False,
        help_text=_(
            "ISO 8601 timestamp, e.g. 2026-01-31T00:00:00Z; changes at or after it are listed. "
            "Needed unless cursor is given."
        ),
    )
    cursor = serializers.CharField(
        required=False,
        help_text=_(
            "The next_cursor of your last answer (opaque): the changes after the last one it gave you, none "
            "repeated and none missed, even when many share a time."
        ),
    )

    def validate_cursor(self, value):
        try:
            time, order, history_id = decode_cursor(value)
            when = parse_datetime(time)
            if (
                when is None
                or order not in (-1, 0, 1)
                or not isinstance(history_id, int)
                or not 0 <= history_id < 2**63
            ):
                raise ValueError(value)
        except (ValueError, TypeError) as exc:
            raise serializers.ValidationError(_("Not a cursor from this feed: use next_cursor as given.")) from exc
        return (when, order, history_id)

    def validate(self, attrs):
        if "since" not in attrs and "cursor" not in attrs:
            raise serializers.ValidationError(
                {"since": [_("Give since (a time) or cursor (the next_cursor of your last answer).")]}
            )
        return attrs


__all__ = [
    "AfterActionSerializer",
    "ApprovalInputSerializer",
    "ApprovalSerializer",
    "ChangeQuerySerializer",
    "ChangeSerializer",
    "EngagementDeleteSerializer",
    "EngagementSerializer",
    "EngagementStatusSerializer",
    "ExerciseSeriesSerializer",
    "ParticipantSerializer",
    "WarningSerializer",
]


class SavedFilterSerializer(serializers.ModelSerializer):
    """A saved filter of the engagement list. ``query`` is the list's query string; it is checked with the
    list's own filters, and the page and export parameters are left out."""

    owner = serializers.CharField(source="owner.get_username", read_only=True)
    is_mine = serializers.SerializerMethodField(help_text=_("Whether you own it (only the owner may change it)."))
    list_url = serializers.SerializerMethodField(help_text=_("The engagement list with these filters."))
    api_url = serializers.SerializerMethodField(help_text=_("The engagement API list with these filters."))
    # Blank and length are the service's to refuse, beside the field, with every other problem at once.
    name = serializers.CharField(allow_blank=True, help_text=_("Unique among your saved filters."))
    query = serializers.CharField(allow_blank=True, trim_whitespace=True, help_text=_("status=planned&q=flint"))

    class Meta:
        model = SavedFilter
        fields = [
            "id",
            "name",
            "query",
            "shared",
            "owner",
            "is_mine",
            "list_url",
            "api_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "owner", "is_mine", "list_url", "api_url", "created_at", "updated_at"]
        # Uniqueness per owner is the service's to check (with a message beside ``name``).
        validators = []

    def get_is_mine(self, saved) -> bool:
        request = self.context.get("request")
        return request is not None and saved.owner_id == request.user.pk

    def get_list_url(self, saved) -> str:
        return f"/engagements/?{saved.query}"

    def get_api_url(self, saved) -> str:
        return f"/api/v1/engagements/?{saved.query}"
