from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments import dashboard_selectors, selectors, services, whatif_selectors
from assessments.api.serializers import (
    AlertAcknowledgeSerializer,
    AlertSerializer,
    AssessmentRunRequestSerializer,
    AssessmentRunSerializer,
    CooperationNetworkSerializer,
    IndicatorSerializer,
    MeasurementSerializer,
    NetworkQuerySerializer,
    ObjectiveSerializer,
    PartnerComparisonQuerySerializer,
    PartnerComparisonSerializer,
    PartnerScoreSerializer,
    ScoreExplanationSerializer,
    ScoringModelDraftSerializer,
    ScoringPreviewAnswerSerializer,
    ScoringPreviewSerializer,
)
from assessments.choices import RunTrigger
from assessments.filtersets import (
    AlertFilterSet,
    AssessmentRunFilterSet,
    IndicatorFilterSet,
    MeasurementFilterSet,
    ObjectiveFilterSet,
    PartnerScoreFilterSet,
)
from assessments.models import Alert, PartnerScore, ScoringModel, ScoringPreview
from assessments.network import cooperation_network
from assessments.periods import PeriodError, Quarter
from assessments.rules import may_activate_scoring_models, may_draft_scoring_models
from assessments.services import whatif as whatif_services
from core.api.schema import QUARTER_SCHEMA
from core.filters import values_of
from partners.selectors import partner_get


class ReadAllWriteWithPermission(permissions.DjangoModelPermissions):
    """Every signed-in user reads; writing needs the model's add/change/delete permission (analysts, admins)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": [], "HEAD": [], "OPTIONS": []}


SCORING_MODEL_PARAMETER = OpenApiParameter(
    "scoring_model", OpenApiTypes.INT, description="Scoring-model version; the active one by default."
)


def _scoring_model_from(request) -> ScoringModel | None:
    version = request.query_params.get("scoring_model")
    if not version:
        return None
    model = ScoringModel.objects.filter(version=version).first() if version.isdigit() else None
    if model is None:
        raise ValidationError({"scoring_model": [f"No scoring model with version {version!r}."]})
    return model


@extend_schema_view(
    list=extend_schema(
        summary="Partner scores per quarter",
        parameters=[SCORING_MODEL_PARAMETER],
        tags=["assessments"],
    ),
)
class PartnerScoreViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Stored quarterly scores (snapshots). Partners without data in a quarter have no row."""

    serializer_class = PartnerScoreSerializer
    filterset_class = PartnerScoreFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database needed
            return PartnerScore.objects.none()
        return selectors.score_list(scoring_model=_scoring_model_from(self.request)).order_by(
            "-period", "partner__name"
        )

    @extend_schema(
        summary="Why a partner's score for a quarter is what it is",
        description="The score computed from today's data beside the stored one, each component's inputs and the "
        "engagements that counted. Restricted engagements count for everyone, but a user who may not read them "
        "(a viewer) gets, instead of their rows, one line per component in `restricted` (how many, the sum of "
        "their weights), nothing more.",
        responses=ScoreExplanationSerializer,
        parameters=[
            OpenApiParameter("iso3", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("period", QUARTER_SCHEMA, OpenApiParameter.PATH, description="YYYY-Qn"),
        ],
        tags=["assessments"],
    )
    @action(
        detail=False, methods=["get"], url_path=r"(?P<iso3>[^/.]+)/(?P<period>[^/.]+)/explain", filterset_class=None
    )
    def explain(self, request, iso3=None, period=None):
        partner = partner_get(iso3=iso3)
        if partner is None:
            raise Http404(f"No partner nation with the code {iso3!r}.")
        try:
            quarter = Quarter.parse(period)
        except PeriodError as exc:
            raise ValidationError({"period": [str(exc)]}) from exc
        explanation = selectors.score_explanation(
            partner=partner, quarter=quarter, user=request.user, scoring_model=_scoring_model_from(request)
        )
        return Response(ScoreExplanationSerializer(explanation).data)


class AcknowledgePermission(permissions.BasePermission):
    """Everyone signed in reads alerts; acknowledging one is for analysts and admins, as on the overview page."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.user.has_perm("assessments.acknowledge_alert")


@extend_schema_view(
    list=extend_schema(
        summary="Score alerts: a partner's overall score fell by 10 points or more from one quarter to the next",
        parameters=[SCORING_MODEL_PARAMETER],
        tags=["assessments"],
    ),
    retrieve=extend_schema(summary="One alert", tags=["assessments"]),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alerts raised by scoring runs, open ones first. Acknowledging is what the overview page's button does."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet
    permission_classes = [permissions.IsAuthenticated, AcknowledgePermission]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        if self.action == "list":
            return selectors.alert_list(scoring_model=_scoring_model_from(self.request))
        return selectors.alerts()

    @extend_schema(
        summary="Acknowledge an alert, with an optional note",
        description="Acknowledging an alert that is already acknowledged keeps the first acknowledgement.",
        request=AlertAcknowledgeSerializer,
        responses=AlertSerializer,
        tags=["assessments"],
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def acknowledge(self, request, pk=None):
        alert = self.get_object()
        payload = AlertAcknowledgeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.alert_acknowledge(alert=alert, user=request.user, note=payload.validated_data["note"])
        return Response(AlertSerializer(selectors.alert_get(alert_id=alert.pk)).data)


class RunPermission(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.user.has_perm("assessments.add_assessmentrun")


@extend_schema_view(
    list=extend_schema(summary="Assessment runs, newest first", tags=["assessments"]),
    retrieve=extend_schema(summary="One run: its status and result", tags=["assessments"]),
    create=extend_schema(
        summary="Start a run",
        request=AssessmentRunRequestSerializer,
        responses={202: AssessmentRunSerializer},
        tags=["assessments"],
    ),
)
class AssessmentRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = AssessmentRunSerializer
    filterset_class = AssessmentRunFilterSet
    permission_classes = [permissions.IsAuthenticated, RunPermission]
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        return selectors.run_list()

    def create(self, request, *args, **kwargs):
        payload = AssessmentRunRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = services.assessment_run_request(
            trigger=RunTrigger.API, periods=payload.validated_data.get("periods"), requested_by=request.user
        )
        run = selectors.run_get(run_id=run.pk)  # in embedded mode the run has already executed
        return Response(AssessmentRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class _ServiceModelViewSet(viewsets.ModelViewSet):
    permission_classes = [permissions.IsAuthenticated, ReadAllWriteWithPermission]
    create_service = update_service = delete_service = None
    instance_name = ""
    user_argument = "user"
    create_user_argument = "user"

    def perform_create(self, serializer):
        serializer.instance = type(self).create_service(
            **{self.create_user_argument: self.request.user}, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = type(self).update_service(
            **{self.instance_name: serializer.instance, "user": self.request.user}, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        type(self).delete_service(**{self.instance_name: instance, "user": self.request.user})

    def _reload(self, instance):
        return self.get_queryset().get(pk=instance.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        data = self.get_serializer(self._reload(serializer.instance)).data
        return Response(data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return Response(self.get_serializer(self._reload(serializer.instance)).data)


@extend_schema_view(
    list=extend_schema(summary="Objectives with their progress", tags=["assessments"]),
    create=extend_schema(tags=["assessments"]),
    retrieve=extend_schema(tags=["assessments"]),
    update=extend_schema(tags=["assessments"]),
    partial_update=extend_schema(tags=["assessments"]),
    destroy=extend_schema(tags=["assessments"]),
)
class ObjectiveViewSet(_ServiceModelViewSet):
    serializer_class = ObjectiveSerializer
    filterset_class = ObjectiveFilterSet
    create_service = staticmethod(services.objective_create)
    update_service = staticmethod(services.objective_update)
    delete_service = staticmethod(services.objective_delete)
    instance_name = "objective"
    create_user_argument = "created_by"

    def get_queryset(self):
        return selectors.objective_list()


@extend_schema_view(
    list=extend_schema(summary="Indicators with their latest value and progress", tags=["assessments"]),
    create=extend_schema(tags=["assessments"]),
    retrieve=extend_schema(tags=["assessments"]),
    update=extend_schema(tags=["assessments"]),
    partial_update=extend_schema(tags=["assessments"]),
    destroy=extend_schema(tags=["assessments"]),
)
class IndicatorViewSet(_ServiceModelViewSet):
    serializer_class = IndicatorSerializer
    filterset_class = IndicatorFilterSet
    create_service = staticmethod(services.indicator_create)
    update_service = staticmethod(services.indicator_update)
    delete_service = staticmethod(services.indicator_delete)
    instance_name = "indicator"

    def get_queryset(self):
        return selectors.indicator_list()


@extend_schema_view(
    list=extend_schema(summary="Measurements of indicators", tags=["assessments"]),
    create=extend_schema(tags=["assessments"]),
    retrieve=extend_schema(tags=["assessments"]),
    update=extend_schema(tags=["assessments"]),
    partial_update=extend_schema(tags=["assessments"]),
    destroy=extend_schema(tags=["assessments"]),
)
class MeasurementViewSet(_ServiceModelViewSet):
    serializer_class = MeasurementSerializer
    filterset_class = MeasurementFilterSet
    create_service = staticmethod(services.measurement_create)
    update_service = staticmethod(services.measurement_update)
    delete_service = staticmethod(services.measurement_delete)
    instance_name = "measurement"
    create_user_argument = "recorded_by"

    def get_queryset(self):
        return selectors.measurement_list()


class PartnerComparisonView(APIView):
    """Two to six partners side by side: what the comparison page shows, from the same selector."""

    @extend_schema(
        summary="Compare partners: components for a quarter, overall trends, shared engagements",
        description="Each partner's stored score row for the quarter (null without one) and its overall score "
        "over the last 8 quarters; the completed or in-progress engagements of the quarter's look-back window "
        "in which at least two of the partners take part, with which ones. Restricted engagements are listed "
        "only for users who may read them. 2 to 6 partners; a bad code, count or period is a 400 naming the field.",
        parameters=[
            OpenApiParameter(
                "partners",
                {"type": "array", "items": {"type": "string", "example": "GHA"}, "minItems": 2, "maxItems": 6},
                required=True,
                explode=True,
                style="form",
                description="ISO alpha-3 codes, repeated (partners=GHA&partners=SEN) or comma-separated "
                "(partners=GHA,SEN).",
            ),
            OpenApiParameter("period", QUARTER_SCHEMA, description="YYYY-Qn; the latest scored quarter by default."),
        ],
        responses=PartnerComparisonSerializer,
        tags=["assessments"],
    )
    def get(self, request):
        query = PartnerComparisonQuerySerializer(
            data={
                "partners": values_of(request.query_params, "partners"),
                "period": request.query_params.get("period", ""),
            }
        )
        query.is_valid(raise_exception=True)
        comparison = dashboard_selectors.partner_comparison(
            user=request.user, partners=query.validated_data["partners"], quarter=query.validated_data["quarter"]
        )
        return Response(
            PartnerComparisonSerializer(comparison, context={"trend_quarters": comparison["trend_quarters"]}).data
        )


# --- what-if scoring models ---------------------------------------------------------------------------------


class ScoringModelDraftPermission(permissions.BasePermission):
    """Drafts are analysts' and admins' (reading included); activating one is admins' (assessments.rules)."""

    def has_permission(self, request, view):
        if view.action == "activate":
            return may_activate_scoring_models(request.user)
        return may_draft_scoring_models(request.user)


_DRAFT_TAGS = ["assessments"]


@extend_schema_view(
    list=extend_schema(summary="Draft scoring models (what-if models), newest first", tags=_DRAFT_TAGS),
    create=extend_schema(summary="Draft a scoring model", tags=_DRAFT_TAGS),
    retrieve=extend_schema(summary="One draft scoring model", tags=_DRAFT_TAGS),
    update=extend_schema(summary="Change a draft (not once activated)", tags=_DRAFT_TAGS),
    partial_update=extend_schema(summary="Change a draft (not once activated)", tags=_DRAFT_TAGS),
    destroy=extend_schema(summary="Delete a draft that was never activated", tags=_DRAFT_TAGS),
)
class ScoringModelDraftViewSet(viewsets.ModelViewSet):
    """What-if scoring models: the same services and rules as the pages under /assessments/scoring-models/."""

    serializer_class = ScoringModelDraftSerializer
    permission_classes = [permissions.IsAuthenticated, ScoringModelDraftPermission]
    filterset_class = None

    def get_queryset(self):
        return whatif_selectors.draft_list()

    def _answer(self, draft, status_code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=draft.pk)).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = whatif_services.scoring_model_draft_create(user=request.user, **serializer.validated_data)
        return self._answer(draft, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        draft = whatif_services.scoring_model_draft_update(
            draft=serializer.instance, user=request.user, **serializer.validated_data
        )
        return self._answer(draft)

    def perform_destroy(self, instance):
        whatif_services.scoring_model_draft_delete(draft=instance, user=self.request.user)

    @extend_schema(
        methods=["post"],
        summary="Preview a draft: score the last finished quarter with it and with the active model",
        description="Queues a task; 202 with the preview. The real scores are not touched. GET shows the result.",
        request=None,
        responses={202: ScoringPreviewSerializer},
        tags=_DRAFT_TAGS,
    )
    @extend_schema(
        methods=["get"],
        summary="A draft's latest preview and its comparison with the active model",
        description="`latest` is the preview last asked for (its status, or its error when it failed); `result` is "
        "the latest one that succeeded: rank changes, the largest movers, the distribution (10-point bins) and "
        "every partner's scores under the draft and the active model.",
        responses=ScoringPreviewAnswerSerializer,
        tags=_DRAFT_TAGS,
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def preview(self, request, pk=None):
        draft = self.get_object()
        if request.method == "POST":
            preview = whatif_services.scoring_preview_request(draft=draft, user=request.user)
            preview = ScoringPreview.objects.select_related("baseline_model").get(pk=preview.pk)
            return Response(ScoringPreviewSerializer(preview).data, status=status.HTTP_202_ACCEPTED)
        latest = whatif_selectors.preview_latest(draft=draft)
        shown = whatif_selectors.preview_latest_succeeded(draft=draft)
        result = None
        if shown is not None:
            result = {
                "preview": shown,
                **whatif_selectors.preview_summary(preview=shown),
                "scores": whatif_selectors.preview_rows(preview=shown),
            }
        return Response(ScoringPreviewAnswerSerializer({"latest": latest, "result": result}).data)

    @extend_schema(
        summary="Activate a draft as the next scoring-model version (admins)",
        description="Creates the version and queues the backfill of its look-back window; 202. The active model and "
        "its scores stay until the backfill succeeds (the draft's status is `activating` meanwhile, then "
        "`activated`, or `failed` with `activation_error`, the old model staying active).",
        request=None,
        responses={202: ScoringModelDraftSerializer},
        tags=_DRAFT_TAGS,
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def activate(self, request, pk=None):
        draft = whatif_services.scoring_model_draft_activate(draft=self.get_object(), user=request.user)
        return self._answer(draft, status.HTTP_202_ACCEPTED)


class CooperationNetworkView(APIView):
    """Who trains with whom in a region or organization: what the network page shows, from the same selector."""

    @extend_schema(
        summary="Cooperation network: partners of a region or organization and their shared engagements",
        description="Partners as nodes; pairs of partners as edges weighted by the engagements both took part in "
        "(completed or in progress, starting in the window, any role), with the pair's first shared quarter and "
        "whether the pairing is first-time (its first shared engagement is in the window). An organization's "
        "partners are its members on the last day of each quarter. Restricted engagements count only for users "
        "who may read them, for the weights and for the first shared quarter alike. Give at least one of region, "
        "subregion, intermediate_region or organization; the window defaults to the 8 quarters ending with the "
        "latest scored quarter that has ended, and spans at most 40. A bad parameter is a 400 naming it.",
        parameters=[
            OpenApiParameter("region", str, description="UN M49 region, e.g. Africa."),
            OpenApiParameter("subregion", str, description="UN M49 subregion, e.g. Sub-Saharan Africa."),
            OpenApiParameter(
                "intermediate_region", str, description="UN M49 intermediate region, e.g. Western Africa."
            ),
            OpenApiParameter("organization", str, description="Organization acronym, e.g. ECOWAS."),
            OpenApiParameter("from", QUARTER_SCHEMA, description="First quarter, YYYY-Qn."),
            OpenApiParameter("to", QUARTER_SCHEMA, description="Last quarter, YYYY-Qn."),
        ],
        responses=CooperationNetworkSerializer,
        tags=["assessments"],
    )
    def get(self, request):
        query = NetworkQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        network = cooperation_network(user=request.user, request=query.validated_data)
        return Response(CooperationNetworkSerializer(network).data)
