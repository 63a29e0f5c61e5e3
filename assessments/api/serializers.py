"""API shapes of the assessments app (DESIGN.md "REST API contract"). Writes go through the services."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assessments.choices import COMPONENTS, Component, Confidence
from assessments.dashboard_selectors import comparison_request_clean
from assessments.models import (
    Alert,
    AssessmentRun,
    Indicator,
    Measurement,
    Objective,
    PartnerScore,
    ScoringModelDraft,
)
from assessments.network import network_request_from
from assessments.periods import Quarter
from core.api.schema import QUARTER_SCHEMA
from partners.models import PartnerNation

# A score's figures, in the order every score answer lists them.
SCORE_VALUES = [
    "overall",
    *COMPONENTS,
    "engagement_count",
    "report_count",
    "confidence",
    "provisional",
    "delta_overall",
]


@extend_schema_field(QUARTER_SCHEMA)
class QuarterLabelField(serializers.CharField):
    """A quarter already written as ``YYYY-Qn``."""


@extend_schema_field(QUARTER_SCHEMA)
class PeriodField(serializers.Field):
    """A quarter as ``YYYY-Qn`` (stored as its first day)."""

    def to_representation(self, value):
        return str(Quarter.of(value))

    def to_internal_value(self, data):
        return Quarter.parse(data)


class PartnerScoreSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner.iso3", read_only=True, help_text="ISO alpha-3 code.")
    period = PeriodField(read_only=True, help_text="Calendar quarter, e.g. 2025-Q3.")
    scoring_model = serializers.IntegerField(source="scoring_model.version", read_only=True)
    run = serializers.UUIDField(source="run_id", read_only=True, allow_null=True)
    report_count = serializers.IntegerField(
        read_only=True, help_text="Counted engagements with an after-action report."
    )
    confidence = serializers.ChoiceField(
        choices=Confidence.choices,
        read_only=True,
        help_text="low: fewer than 3 engagements or no after-action report; high: 8 or more engagements and "
        "3 or more reports; medium otherwise.",
    )
    provisional = serializers.BooleanField(
        read_only=True, help_text="True while the quarter has not ended: the score may still change."
    )

    class Meta:
        model = PartnerScore
        fields = [
            "partner",
            "period",
            *SCORE_VALUES,
            "scoring_model",
            "run",
            "computed_at",
        ]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner.iso3", read_only=True, help_text="ISO alpha-3 code.")
    partner_name = serializers.CharField(source="partner.name", read_only=True)
    period = PeriodField(read_only=True, help_text="The quarter whose overall score fell, e.g. 2025-Q3.")
    scoring_model = serializers.IntegerField(source="scoring_model.version", read_only=True)
    provisional = serializers.BooleanField(
        read_only=True, help_text="True while the quarter has not ended: the drop may still change."
    )
    acknowledged = serializers.SerializerMethodField(help_text="Whether an analyst has acknowledged the drop.")
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "partner",
            "partner_name",
            "period",
            "previous_overall",
            "overall",
            "delta_overall",
            "provisional",
            "scoring_model",
            "raised_at",
            "acknowledged",
            "acknowledged_by",
            "acknowledged_at",
            "note",
        ]
        read_only_fields = fields

    def get_acknowledged(self, alert: Alert) -> bool:
        return alert.acknowledged_at is not None


class AlertAcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        default="",
        help_text="Why the score fell, or what is being done (optional, at most 500 characters).",
    )


class ExplanationEngagementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    title = serializers.CharField()
    restricted = serializers.BooleanField(
        help_text="True for a restricted engagement (listed only to users who may read restricted engagements)."
    )
    status = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    role = serializers.CharField()
    age_days = serializers.IntegerField()
    weight = serializers.FloatField()
    share_of_weight = serializers.FloatField(allow_null=True)
    participant_count = serializers.IntegerField()
    organizations = serializers.ListField(child=serializers.CharField())
    multilateral = serializers.BooleanField()
    ratings = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    quarters = serializers.ListField(child=serializers.CharField())


RESTRICTED_COMPONENTS = [(value, label) for value, label in Component.choices if value != Component.OBJECTIVES]


class ExplanationRestrictedSerializer(serializers.Serializer):
    """What a user who may not read restricted engagements learns of them: per component, a count and a weight."""

    component = serializers.ChoiceField(
        choices=RESTRICTED_COMPONENTS, help_text="The score component these restricted engagements entered."
    )
    engagement_count = serializers.IntegerField(help_text="How many restricted engagements entered it.")
    weight = serializers.FloatField(help_text="The sum of their recency weights.")


class ExplanationIndicatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    unit = serializers.CharField()
    objective_id = serializers.IntegerField()
    objective = serializers.CharField()
    baseline_value = serializers.FloatField()
    target_value = serializers.FloatField()
    latest_value = serializers.FloatField()
    latest_date = serializers.DateField()
    progress = serializers.FloatField()


class ExplanationWindowSerializer(serializers.Serializer):
    first_day = serializers.DateField(help_text="First day of the look-back window.")
    last_day = serializers.DateField(help_text="Last day of the quarter explained.")
    quarters = serializers.ListField(child=QuarterLabelField(), help_text="The window's quarters, oldest first.")


class ExplanationScoringModelSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    weights = serializers.DictField(child=serializers.FloatField(), help_text="Weight of each component.")
    half_life_days = serializers.IntegerField()
    lookback_quarters = serializers.IntegerField()
    activity_scale = serializers.FloatField()


class ActivityInputsSerializer(serializers.Serializer):
    weight_sum = serializers.FloatField()
    activity_scale = serializers.FloatField()


class RatingInputsSerializer(serializers.Serializer):
    rated_count = serializers.IntegerField()
    rated_weight_sum = serializers.FloatField()
    weighted_points = serializers.FloatField()


class ContinuityInputsSerializer(serializers.Serializer):
    quarters_overlapped = serializers.IntegerField()
    lookback_quarters = serializers.IntegerField()
    quarters = serializers.ListField(child=QuarterLabelField())


class MultilateralInputsSerializer(serializers.Serializer):
    multilateral_weight_sum = serializers.FloatField()
    weight_sum = serializers.FloatField()
    multilateral_count = serializers.IntegerField()
    engagement_count = serializers.IntegerField()


class ObjectivesInputsSerializer(serializers.Serializer):
    indicator_count = serializers.IntegerField()
    mean_progress = serializers.FloatField(allow_null=True)


class ExplanationInputsSerializer(serializers.Serializer):
    activity = ActivityInputsSerializer()
    interoperability = RatingInputsSerializer()
    capacity = RatingInputsSerializer()
    trust = RatingInputsSerializer()
    continuity = ContinuityInputsSerializer()
    multilateral = MultilateralInputsSerializer()
    objectives = ObjectivesInputsSerializer()


class ScoreExplanationSerializer(serializers.Serializer):
    partner = serializers.CharField(source="partner.iso3")
    period = QuarterLabelField(help_text="Calendar quarter, e.g. 2025-Q3.")
    window = ExplanationWindowSerializer()
    scoring_model = ExplanationScoringModelSerializer()
    has_data = serializers.BooleanField(help_text="False when the partner has nothing to score in this quarter.")
    overall = serializers.FloatField(allow_null=True, help_text="Computed from today's data.")
    components = serializers.DictField(child=serializers.FloatField(allow_null=True))
    weights_used = serializers.DictField(
        child=serializers.FloatField(), help_text="The model's weights renormalised over the non-null components."
    )
    inputs = ExplanationInputsSerializer(help_text="Each component's inputs: weight sums, counts, quarters.")
    engagement_count = serializers.IntegerField(
        help_text="Engagements counted in the window, restricted ones included (as in the stored score)."
    )
    engagements = ExplanationEngagementSerializer(
        many=True, help_text="The counted engagements you may read, most recent first, with their weights."
    )
    restricted = ExplanationRestrictedSerializer(
        many=True,
        help_text="For users who may not read restricted engagements: instead of their rows, one line per component "
        "they entered (count and weight sum), nothing more. Empty for other users, who find them in `engagements`.",
    )
    indicators = ExplanationIndicatorSerializer(many=True)
    stored = PartnerScoreSerializer(allow_null=True, help_text="The stored snapshot, if a run computed one.")
    stored_matches = serializers.BooleanField(
        help_text="False when the data changed after the stored snapshot was computed (a recompute is due)."
    )


class AssessmentRunSerializer(serializers.ModelSerializer):
    scoring_model = serializers.IntegerField(source="scoring_model.version", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, allow_null=True)
    partners = serializers.SerializerMethodField(help_text="Partner ids the run is limited to; empty: all.")
    parts = serializers.IntegerField(
        source="parts_total",
        read_only=True,
        default=0,
        help_text="Quarters of a run fanned out across the workers, one task each (0: executed in one piece).",
    )
    parts_succeeded = serializers.IntegerField(read_only=True, default=0, help_text="Those stored so far.")

    class Meta:
        model = AssessmentRun
        fields = [
            "id",
            "status",
            "trigger",
            "periods",
            "partners",
            "scoring_model",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "partners_scored",
            "scores_written",
            "parts",
            "parts_succeeded",
            "error",
        ]
        read_only_fields = fields

    def get_partners(self, run) -> list[int]:
        return list(run.partner_ids or [])


class AssessmentRunRequestSerializer(serializers.Serializer):
    periods = serializers.ListField(
        child=serializers.CharField(max_length=10),
        required=False,
        allow_empty=False,
        max_length=400,
        help_text="Quarters such as 2025-Q3; default the current and the previous quarter.",
    )


class PartnerCodeField(serializers.SlugRelatedField):
    """A partner by ISO alpha-3 code, any case."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="iso3", queryset=PartnerNation.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().upper()
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(
                _("Unknown country code “%(code)s”: use an ISO alpha-3 code such as KEN.") % {"code": data}
            ) from exc


class ObjectiveSerializer(serializers.ModelSerializer):
    partner = PartnerCodeField()
    indicator_count = serializers.IntegerField(read_only=True)
    progress = serializers.FloatField(read_only=True, allow_null=True, help_text="Mean progress today, 0-1.")

    class Meta:
        model = Objective
        fields = [
            "id",
            "partner",
            "line_of_effort",
            "title",
            "description",
            "target_date",
            "status",
            "indicator_count",
            "progress",
        ]


class IndicatorSerializer(serializers.ModelSerializer):
    latest_value = serializers.FloatField(read_only=True, allow_null=True)
    latest_date = serializers.DateField(read_only=True, allow_null=True)
    progress = serializers.FloatField(read_only=True, allow_null=True, help_text="0-1, from the latest value.")

    class Meta:
        model = Indicator
        fields = [
            "id",
            "objective",
            "name",
            "unit",
            "baseline_value",
            "target_value",
            "baseline_date",
            "latest_value",
            "latest_date",
            "progress",
        ]
        validators = []  # the service checks target != baseline with a message on the field


class MeasurementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Measurement
        fields = ["id", "indicator", "date", "value", "source"]
        validators = []  # the service reports a second measurement on the same day on the date field


def _field_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """A rule's ``ValidationError`` keyed by field, as the API's 400 answers them."""
    return serializers.ValidationError(
        {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    )


# --- partners compared ----------------------------------------------------------------------------------------


class PartnerComparisonQuerySerializer(serializers.Serializer):
    """The comparison's query: 2 to 6 ISO codes (repeated or comma-separated) and an optional quarter. The
    limits are ``dashboard_selectors.comparison_request_clean``'s, asked here as by the page's form."""

    partners = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="2 to 6 ISO alpha-3 codes."
    )
    period = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="YYYY-Qn; the latest scored quarter by default."
    )

    def validate(self, attrs):
        try:
            partners, quarter = comparison_request_clean(codes=attrs["partners"], period=attrs["period"] or None)
        except DjangoValidationError as exc:
            raise _field_errors(exc) from exc
        return {"partners": partners, "quarter": quarter}


class ComparedScoreSerializer(serializers.ModelSerializer):
    """A compared partner's stored score row for the quarter."""

    confidence = serializers.ChoiceField(choices=Confidence.choices, read_only=True)
    provisional = serializers.BooleanField(read_only=True)

    class Meta:
        model = PartnerScore
        fields = [*SCORE_VALUES, "computed_at"]
        read_only_fields = fields


class TrendPointSerializer(serializers.Serializer):
    period = QuarterLabelField(help_text="YYYY-Qn")
    overall = serializers.FloatField(allow_null=True, help_text="The stored overall score; null without a score.")


class ComparedPartnerSerializer(serializers.Serializer):
    partner = serializers.CharField(source="partner.iso3", help_text="ISO alpha-3 code.")
    name = serializers.CharField(source="partner.name")
    score = ComparedScoreSerializer(allow_null=True, help_text="Null when the partner has no score this quarter.")
    trend = serializers.SerializerMethodField(help_text="Overall score in each of the last 8 quarters, oldest first.")

    @extend_schema_field(TrendPointSerializer(many=True))
    def get_trend(self, row) -> list[dict]:
        quarters = self.context["trend_quarters"]
        return [{"period": str(q), "overall": value} for q, value in zip(quarters, row["trend"], strict=True)]


class SharedEngagementSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="engagement.pk")
    reference = serializers.CharField(source="engagement.reference")
    title = serializers.CharField(source="engagement.title")
    start_date = serializers.DateField(source="engagement.start_date")
    end_date = serializers.DateField(source="engagement.end_date")
    status = serializers.CharField(source="engagement.status")
    partners = serializers.SerializerMethodField(help_text="Which of the compared partners took part (ISO codes).")

    def get_partners(self, item) -> list[str]:
        return [p.iso3 for p in item["partners"]]


class PartnerComparisonSerializer(serializers.Serializer):
    period = serializers.SerializerMethodField(help_text="The quarter compared, YYYY-Qn.")
    scoring_model = serializers.IntegerField(source="scoring_model.version")
    window = serializers.SerializerMethodField(
        help_text="First and last quarter of the look-back window that shared engagements overlap."
    )
    partners = ComparedPartnerSerializer(many=True)
    shared_engagements = SharedEngagementSerializer(
        source="shared",
        many=True,
        help_text="Completed or in-progress engagements of the window with at least two of the partners, "
        "restricted ones only for users who may read them.",
    )

    @extend_schema_field(QUARTER_SCHEMA)
    def get_period(self, comparison) -> str:
        return str(comparison["quarter"])

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"first": QUARTER_SCHEMA, "last": QUARTER_SCHEMA},
            "required": ["first", "last"],
        }
    )
    def get_window(self, comparison) -> dict:
        return {"first": str(comparison["window"][0]), "last": str(comparison["window"][-1])}


# --- what-if scoring models ---------------------------------------------------------------------------------


class ScoringModelDraftSerializer(serializers.ModelSerializer):
    """A draft scoring model. Only types are checked here: what a valid model is, ScoringParameters.clean says
    (through the service), field by field."""

    weights = serializers.JSONField(help_text="Weight of each of the seven components, a number from 0 to 1000.")
    version = serializers.IntegerField(
        source="scoring_model.version",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The version made from this draft once activated.",
    )
    backfill_run = serializers.UUIDField(source="backfill_run_id", read_only=True, allow_null=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)
    activated_by = serializers.CharField(source="activated_by.username", read_only=True, allow_null=True, default=None)
    latest_preview_status = serializers.CharField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = ScoringModelDraft
        fields = [
            "id",
            "name",
            "description",
            "weights",
            "half_life_days",
            "lookback_quarters",
            "activity_scale",
            "status",
            "version",
            "backfill_run",
            "created_by",
            "created_at",
            "updated_at",
            "activated_by",
            "activated_at",
            "activation_error",
            "latest_preview_status",
        ]
        read_only_fields = ["status", "created_at", "updated_at", "activated_at", "activation_error"]
        extra_kwargs = {
            "half_life_days": {"min_value": None, "max_value": None},
            "lookback_quarters": {"min_value": None, "max_value": None},
        }


class ScoringPreviewSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField(help_text="queued, running, succeeded or failed")
    quarter = serializers.SerializerMethodField()
    scoring_model = serializers.IntegerField(
        source="baseline_model.version", help_text="The active model's version the draft is compared with."
    )
    parameters = serializers.JSONField(help_text="The draft's parameters as previewed.")
    requested_at = serializers.DateTimeField(source="created_at")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    partners_scored = serializers.IntegerField()
    error = serializers.CharField()

    @extend_schema_field(QUARTER_SCHEMA)
    def get_quarter(self, preview) -> str:
        return str(preview.quarter)


class ScoringPreviewRowSerializer(serializers.Serializer):
    partner = serializers.CharField(source="partner.iso3")
    overall = serializers.FloatField(allow_null=True, help_text="Under the draft.")
    activity = serializers.FloatField(allow_null=True)
    interoperability = serializers.FloatField(allow_null=True)
    capacity = serializers.FloatField(allow_null=True)
    trust = serializers.FloatField(allow_null=True)
    continuity = serializers.FloatField(allow_null=True)
    multilateral = serializers.FloatField(allow_null=True)
    objectives = serializers.FloatField(allow_null=True)
    engagement_count = serializers.IntegerField()
    report_count = serializers.IntegerField()
    confidence = serializers.ChoiceField(choices=Confidence.choices)
    rank = serializers.IntegerField(allow_null=True, help_text="1 = highest overall under the draft.")
    baseline_overall = serializers.FloatField(allow_null=True, help_text="Under the active model.")
    baseline_rank = serializers.IntegerField(allow_null=True)
    shift = serializers.FloatField(allow_null=True, help_text="overall - baseline_overall")
    rank_change = serializers.IntegerField(allow_null=True, help_text="Places gained: baseline_rank - rank.")


class ScoringPreviewBinSerializer(serializers.Serializer):
    low = serializers.IntegerField()
    high = serializers.IntegerField()
    count = serializers.IntegerField(help_text="Partners whose overall under the draft is in [low, high).")
    baseline_count = serializers.IntegerField(help_text="The same under the active model.")


class ScoringPreviewResultSerializer(serializers.Serializer):
    preview = ScoringPreviewSerializer()
    partners = serializers.IntegerField()
    scored = serializers.IntegerField()
    baseline_scored = serializers.IntegerField()
    rank_up = serializers.IntegerField()
    rank_down = serializers.IntegerField()
    rank_same = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    baseline_mean = serializers.FloatField(allow_null=True)
    mean_shift = serializers.FloatField(allow_null=True)
    histogram = ScoringPreviewBinSerializer(many=True)
    largest_movers = ScoringPreviewRowSerializer(many=True)
    rank_changes = ScoringPreviewRowSerializer(many=True)
    scores = ScoringPreviewRowSerializer(many=True)


class ScoringPreviewAnswerSerializer(serializers.Serializer):
    latest = ScoringPreviewSerializer(allow_null=True, help_text="The latest preview asked for, whatever its status.")
    result = ScoringPreviewResultSerializer(
        allow_null=True, help_text="The latest preview that succeeded (null before the first one)."
    )


# --- the cooperation network ------------------------------------------------------------------------------


class NetworkQuerySerializer(serializers.Serializer):
    """The network's query: a scope (``region``, ``subregion``, ``intermediate_region``, ``organization``)
    and a window (``from``, ``to``). The rules are ``network.network_request_clean``'s, asked here as by the
    page's form; its messages come back keyed by the parameter."""

    region = serializers.CharField(required=False, allow_blank=True, default="")
    subregion = serializers.CharField(required=False, allow_blank=True, default="")
    intermediate_region = serializers.CharField(required=False, allow_blank=True, default="")
    organization = serializers.CharField(required=False, allow_blank=True, default="")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(required=False, allow_blank=True, default="")
        fields["to"] = serializers.CharField(required=False, allow_blank=True, default="")
        return fields

    def validate(self, attrs):
        try:
            return network_request_from(attrs)
        except DjangoValidationError as exc:
            raise _field_errors(exc) from exc


class NetworkNodeSerializer(serializers.Serializer):
    partner = serializers.CharField(source="partner.iso3", help_text="ISO alpha-3 code.")
    name = serializers.CharField(source="partner.name")
    partners = serializers.IntegerField(help_text="How many partners of the scope it shares engagements with.")
    shared_engagements = serializers.IntegerField(
        source="engagements",
        help_text="The sum of its pairs' shared engagements (an engagement with three others counts three times).",
    )
    first_time_pairings = serializers.IntegerField(source="first_time")


class NetworkEdgeSerializer(serializers.Serializer):
    partner = serializers.CharField(source="partner.iso3", help_text="ISO alpha-3 code (the first by name).")
    other = serializers.CharField(source="other.iso3", help_text="ISO alpha-3 code.")
    shared_engagements = serializers.IntegerField(
        source="engagements", help_text="Engagements of the window both took part in."
    )
    first_shared_quarter = QuarterLabelField(
        source="first_quarter", help_text="The pair's first shared quarter in all the history you may see."
    )
    first_time = serializers.BooleanField(help_text="True when the first shared quarter is inside the window.")


class NetworkScopeSerializer(serializers.Serializer):
    region = serializers.CharField()
    subregion = serializers.CharField()
    intermediate_region = serializers.CharField()
    organization = serializers.CharField()


class CooperationNetworkSerializer(serializers.Serializer):
    scope = NetworkScopeSerializer()
    nodes = NetworkNodeSerializer(many=True, help_text="Partners of the scope with at least one shared engagement.")
    edges = NetworkEdgeSerializer(many=True, help_text="Pairs of partners, the most shared engagements first.")
    first_time_pairings = serializers.IntegerField(source="first_time_count")
    live_quarters = serializers.ListField(
        child=QuarterLabelField(),
        help_text="Quarters of the window no run had counted yet: counted from the engagements for this answer.",
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = QuarterLabelField(source="first", help_text="The window's first quarter.")
        fields["to"] = QuarterLabelField(source="last", help_text="The window's last quarter.")
        return fields
