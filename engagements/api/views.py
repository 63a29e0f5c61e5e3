"""The engagement API: thin views over engagements.services (writes) and engagements.selectors (reads)."""

from __future__ import annotations

import re
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core import page_cache
from core.api.exceptions import Conflict, flatten_errors
from core.api.pagination import FeedPagination, RowsFirstPagination
from core.api.parsers import JSONParser
from core.api.permissions import ModelRolePermission
from core.api.renderers import FileRenderer
from core.api.serializers import ErrorSerializer
from engagements import deconfliction, exchange, extensions, rules, selectors, services
from engagements.api.serializers import (
    ENGAGEMENT_RESPONSE_EXAMPLE,
    AfterActionSerializer,
    ApprovalInputSerializer,
    ApprovalSerializer,
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    ChangeQuerySerializer,
    ChangeSerializer,
    EngagementDeleteSerializer,
    EngagementSerializer,
    EngagementStatusSerializer,
    ExerciseSeriesSerializer,
    FindingDismissSerializer,
    FindingsSerializer,
    SavedFilterSerializer,
)
from engagements.filtersets import EngagementFilterSet, never_cached
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, SavedFilter, may_read_restricted

# The API list's cached JSON (core/page_cache.list_snapshot): the number changes with its shape.
LIST_CACHE_KIND = "api-engagements:1"


@extend_schema_field({"type": "string", "maxLength": rules.REASON_MAX_LENGTH})
class ReasonField(serializers.CharField):
    """A reason, checked by the status policy (``rules.reason_refusal``); its limit is in the schema."""


class StatusChangeSerializer(EngagementStatusSerializer):
    # Its rules (needed when cancelling or reopening, its length) are the status policy's: the service checks.
    reason = ReasonField(
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        help_text=gettext_lazy(
            "Why: needed when cancelling, and when an admin reopens a cancelled engagement as planned; kept in "
            "the history."
        ),
    )


CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="Stale version: someone changed the engagement since you read it. Nothing was written.",
    examples=[
        OpenApiExample(
            "stale version",
            value={
                "detail": "Someone else saved this engagement while you were editing it (now version 4). Reload it "
                "to see their changes, then apply yours again.",
                "code": "conflict",
                "errors": {
                    "version": ["Someone else saved this engagement while you were editing it (now version 4)."]
                },
            },
            status_codes=["409"],
        )
    ],
)

REPORT_EXAMPLE = {
    "summary": "Combined staff planning and live fire completed as planned.",
    "interoperability_rating": 4,
    "capacity_rating": 3,
    "trust_rating": 5,
    "lessons_learned": "Radio interoperability needs a common crypto fill plan.",
    "recommendations": "Add a communications working group to the planning conferences.",
}


def _without_refused(data, errors) -> tuple[dict, list[int]]:
    """The input less what the serializer refused, to check the rest with the service's validator: refused
    fields are left out, and so are the refused fields of participant rows (a row whose partner was refused
    is left out whole). Also the original index of each participant row kept."""
    if not isinstance(data, dict) or not isinstance(errors, dict):
        return {}, []
    rest = {name: value for name, value in data.items() if name not in errors}
    rows, row_errors = data.get("participants"), errors.get("participants")
    kept: list[int] = []
    if isinstance(row_errors, list) and all(isinstance(e, dict) for e in row_errors):
        row_errors = dict(enumerate(row_errors))
    # Refused rows by index (DRF gives {index: {field: [...]}}): the other rows are checked further.
    if isinstance(rows, list) and isinstance(row_errors, dict) and all(isinstance(k, int) for k in row_errors):
        rest["participants"] = []
        for index, row in enumerate(rows):
            refused = row_errors.get(index) or {}
            if not isinstance(row, dict) or "partner" in refused or "non_field_errors" in refused:
                continue
            rest["participants"].append({name: value for name, value in row.items() if name not in refused})
            kept.append(index)
    return rest, kept


def every_error(view, serializer, check) -> None:
    """Validate ``serializer``; if it refuses the input, raise one 400 with its errors AND what the service's
    validator (``check``, called with service arguments; it writes nothing) says of the rest, so a client
    sees every problem at once instead of one stage at a time."""
    if serializer.is_valid():
        return
    errors = flatten_errors(serializer.errors)
    rest, kept = _without_refused(serializer.initial_data, serializer.errors)
    # Partial: a required field the serializer refused is already reported.
    retry = view.get_serializer(serializer.instance, data=rest, partial=True)
    if rest and retry.is_valid():
        arguments = retry.service_arguments()
        arguments.pop("expected_version", None)
        try:
            with service_errors():
                check(arguments)
        except ValidationError as exc:
            for path, messages in exc.detail.items():
                # Participant rows by the index the client sent.
                match = ROW_PATH.match(path)
                if match and int(match["index"]) < len(kept):
                    path = f"participants[{kept[int(match['index'])]}]{match['rest']}"
                errors.setdefault(path, [str(m) for m in messages])
        except Conflict:
            pass
    raise ValidationError(errors)


# The actions that answer the engagement as ``_respond`` reads it after the change.
SAVES = frozenset({"update", "partial_update"})

ROW_PATH = re.compile(r"^participants\[(?P<index>\d+)\](?P<rest>.*)$")


@contextmanager
def service_errors():
    """A service's ValidationError as a 400 with field paths (participants by row: ``participants[1].partner``);
    a stale version as a 409."""
    try:
        yield
    except services.StaleVersionError as exc:
        errors = exc.message_dict
        raise Conflict(errors["version"][0], errors=errors) from exc
    except DjangoValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        if getattr(exc, "rows", None):
            errors = {**errors, "participants": exc.rows}
        raise ValidationError(flatten_errors(errors)) from exc


@extend_schema_view(
    list=extend_schema(
        summary="List engagements",
        description="Restricted engagements are left out for viewers. Filters combine with AND; "
        "`partner` and `organization` accept comma-separated codes (any of them).",
    ),
    retrieve=extend_schema(summary="One engagement"),
    create=extend_schema(
        summary="Create an engagement",
        description="With its participants, organizations and (for in-progress or completed engagements) its "
        "after-action report, all or nothing. The answer carries deconfliction `warnings`.",
    ),
    update=extend_schema(
        summary="Replace an engagement's fields",
        description="Fields left out keep their values; `participants` and `organizations`, when given, replace "
        "the whole list. Send `version` to be protected against overwriting someone else's change.",
        responses={200: EngagementSerializer, 409: CONFLICT},
    ),
    partial_update=extend_schema(
        summary="Change some of an engagement's fields",
        responses={200: EngagementSerializer, 409: CONFLICT},
    ),
    destroy=extend_schema(
        summary="Delete an engagement",
        description="The engagement disappears everywhere but stays recorded with who, when and why. "
        'The reason is required: as the `reason` query parameter, or in a JSON body `{"reason": ...}`.',
        parameters=[
            OpenApiParameter(
                "reason", OpenApiTypes.STR, required=True, description="Why the engagement is deleted (max 300)."
            )
        ],
    ),
)
@extend_schema(tags=["engagements"])
class EngagementViewSet(viewsets.ModelViewSet):
    """Military engagements with partner nations: exercises, training exchanges, advisory missions ..."""

    serializer_class = EngagementSerializer
    filterset_class = EngagementFilterSet
    pagination_class = RowsFirstPagination
    permission_classes = [ModelRolePermission]
    permission_model = Engagement
    action_permissions = {
        "change_status": "change",
        "after_action": "change",
        "availability": "view",
        "findings": "view",
        "dismiss_finding": "change",
        "approve": "approve",
        "refuse": "approve",
        "request_approval": "change",
        "approvals": "view",
    }
    parser_classes = [JSONParser]

    def get_queryset(self):
        return extensions.prepare(
            selectors.engagement_list(user=self.request.user).select_related("after_action__submitted_by")
        )

    @property
    def exact_count_limit(self):
        return settings.LIST_EXACT_COUNT_LIMIT  # past it, the count is estimated (RowsFirstPagination)

    def load_page_rows(self, ids):
        """The list page's rows, found by id first (RowsFirstPagination); filters were applied to find them."""
        return self.get_queryset().filter(pk__in=ids)

    def get_object(self):
        # A save answers the engagement read again after it (``_respond``): checked against its row alone.
        read = selectors.engagement_to_change if self.action in SAVES else selectors.engagement_get
        engagement = read(user=self.request.user, pk=self.kwargs[self.lookup_field])
        if engagement is None:
            raise Http404(_("No engagement with this id, or not visible to you."))
        self.check_object_permissions(self.request, engagement)
        if self.request.method not in SAFE_METHODS and self.action not in ("approve", "refuse"):
            # The unit scope before reading the input: a planner of another unit gets 403 saying why, not a 400.
            services.scope_check(self.request.user, engagement.owner_unit_id)
        return engagement

    def _respond(self, engagement_id: int, *, warnings=(), status_code=status.HTTP_200_OK) -> Response:
        engagement = selectors.engagement_get(user=self.request.user, pk=engagement_id)
        context = {**self.get_serializer_context(), "warnings": list(warnings)}
        return Response(EngagementSerializer(engagement, context=context).data, status=status_code)

    def create(self, request, *args, **kwargs):
        services.creator_check(request.user)  # a planner without a unit: 403 saying why, whatever the input
        serializer = self.get_serializer(data=request.data)
        every_error(
            self,
            serializer,
            lambda arguments: services.engagement_create_clean(
                created_by=request.user, **services.with_owner_unit(request.user, arguments)
            ),
        )
        arguments = serializer.service_arguments()
        arguments.pop("expected_version", None)
        with service_errors():
            result = services.engagement_create(created_by=request.user, **arguments)
        return self._respond(result.engagement.pk, warnings=result.warnings, status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        engagement = self.get_object()
        serializer = self.get_serializer(engagement, data=request.data, partial=kwargs.get("partial", False))
        every_error(
            self,
            serializer,
            lambda arguments: services.engagement_update_check(
                engagement=engagement, updated_by=request.user, **arguments
            ),
        )
        arguments = serializer.service_arguments()
        with service_errors():
            result = services.engagement_update(engagement=engagement, updated_by=request.user, **arguments)
        return self._respond(result.engagement.pk, warnings=result.warnings)

    def destroy(self, request, *args, **kwargs):
        engagement = self.get_object()
        reason = request.query_params.get("reason")
        if reason is None and isinstance(request.data, dict):
            reason = request.data.get("reason")
        serializer = EngagementDeleteSerializer(data={"reason": reason} if reason is not None else {})
        serializer.is_valid(raise_exception=True)
        with service_errors():
            services.engagement_delete(
                engagement=engagement, user=request.user, reason=serializer.validated_data["reason"]
            )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="engagements_export",
        summary="The filtered engagements as a file in the import format",
        description=(
            "The same filters as the list. `file=csv` (the default) or `file=xlsx`; every matching engagement you "
            "may read, one row each, in the exchange format that `POST /api/v1/engagements/import/` reads: "
            "exporting and importing again changes nothing."
        ),
        parameters=[
            OpenApiParameter("file", OpenApiTypes.STR, enum=list(exchange.EXPORT_KINDS), description="csv or xlsx")
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, exchange.XLSX_TYPE): OpenApiTypes.BINARY,
            (400, "application/json"): ErrorSerializer,
        },
        tags=["engagements"],
    )
    @action(detail=False, methods=["get"], url_path="export", renderer_classes=[JSONRenderer, FileRenderer])
    def export(self, request):
        kind = request.query_params.get("file", "csv").strip().lower() or "csv"
        if kind not in exchange.EXPORT_KINDS:
            raise ValidationError({"file": [_("Choose csv or xlsx.")]})
        try:
            return exchange.export_response(self.filter_queryset(self.get_queryset()), kind)
        except exchange.ExportTooLarge as exc:
            raise ValidationError({"file": [str(exc)]}) from exc

    @extend_schema(
        summary="Move an engagement along its life cycle",
        description="Planned to approved only with the approve action (four-eyes). "
        "Only forward (planned, approved, in_progress, completed), or to cancelled from any status "
        "but completed and never once it has an after-action report; in_progress needs start_date <= today, "
        "completed end_date <= today (the same status policy as the pages and the import). Cancelling needs a "
        "`reason`; an admin may reopen a cancelled engagement as planned, also with a `reason`. Answers with "
        "the whole engagement.",
        request=StatusChangeSerializer,
        responses={200: EngagementSerializer, 409: CONFLICT},
        examples=[
            OpenApiExample("start", value={"status": "in_progress", "version": 3}, request_only=True),
            OpenApiExample(
                "started",
                value={**ENGAGEMENT_RESPONSE_EXAMPLE, "status": "in_progress", "version": 4, "warnings": []},
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="status", filterset_class=None)
    def change_status(self, request, pk=None):
        engagement = self.get_object()
        serializer = StatusChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            services.engagement_change_status(
                engagement=engagement,
                status=serializer.validated_data["status"],
                user=request.user,
                expected_version=serializer.validated_data.get("version"),
                reason=serializer.validated_data.get("reason", ""),
            )
        return self._respond(engagement.pk)

    @extend_schema(
        summary="Is anyone in the way on these dates? (availability check)",
        description=(
            "Needs only dates and countries: `start`, `end`, and `partner` (ISO alpha-3, several: repeated or "
            "comma-separated) and/or `host`. Answers the ranked deconfliction findings (the same rules as the "
            "pages: same host, partners already busy, long missions last). Only engagements you may read count: "
            "for viewers a restricted engagement never makes anyone busy, since even that would reveal it."
        ),
        parameters=[AvailabilityQuerySerializer],
        responses={200: AvailabilitySerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample(
                "available",
                value={"start": "2027-03-01", "end": "2027-03-12", "available": True, "findings": []},
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    @action(detail=False, methods=["get"], url_path="availability", filterset_class=None, pagination_class=None)
    def availability(self, request):
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        partners = values.get("partner", [])
        plan, unknown = deconfliction.plan_from_codes(
            start_date=values["start"], end_date=values["end"], host=values.get("host"), partners=partners
        )
        if unknown:
            field = "host" if (values.get("host") or "").strip().upper() in unknown else "partner"
            raise ValidationError({field: [_("Unknown ISO alpha-3 code: %(codes)s.") % {"codes": ", ".join(unknown)}]})
        found = [f.as_dict() for f in deconfliction.findings(plan, user=request.user)]
        body = {"start": values["start"], "end": values["end"], "available": not found, "findings": found}
        return Response(AvailabilitySerializer(body).data)

    def _findings_body(self, engagement) -> dict:
        review = deconfliction.engagement_review(engagement, user=self.request.user)
        rows = [
            {
                "engagement": row["other"].pk,
                "note": row["dismissal"].note,
                "dismissed_by": row["dismissal"].dismissed_by.get_username() if row["dismissal"].dismissed_by else None,
                "dismissed_at": row["dismissal"].dismissed_at,
            }
            for row in review["dismissed"]
        ]
        return FindingsSerializer({"findings": review["findings"], "dismissed": rows}).data

    @extend_schema(
        summary="Deconfliction findings of an engagement",
        description="The open findings, ranked, and the dismissed ones with who, when and the note.",
        responses={200: FindingsSerializer},
    )
    @action(detail=True, methods=["get"], url_path="findings", filterset_class=None)
    def findings(self, request, pk=None):
        return Response(self._findings_body(self.get_object()))

    @extend_schema(
        summary="Dismiss a deconfliction finding, with a note",
        description="The finding between this engagement and `engagement` is not shown again for that pair, "
        "from either side; who and when are recorded with the note. Answers the findings as they are now.",
        request=FindingDismissSerializer,
        responses={200: FindingsSerializer},
    )
    @action(detail=True, methods=["post"], url_path="findings/dismiss", filterset_class=None)
    def dismiss_finding(self, request, pk=None):
        engagement = self.get_object()
        serializer = FindingDismissSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            services.finding_dismiss(
                engagement=engagement,
                other_id=serializer.validated_data["engagement"],
                note=serializer.validated_data["note"],
                user=request.user,
            )
        return Response(self._findings_body(engagement))

    @extend_schema(
        summary="Submit or edit the after-action report",
        description="For in-progress or completed engagements (a new report once start_date <= today); a report "
        "is never removed. The first submission needs summary and the three "
        "ratings; later ones change only the fields given. 201 when the report is new, 200 when edited.",
        request=AfterActionSerializer,
        responses={200: AfterActionSerializer, 201: AfterActionSerializer},
        examples=[
            OpenApiExample("report", value=REPORT_EXAMPLE, request_only=True),
            OpenApiExample(
                "submitted",
                value={**REPORT_EXAMPLE, "submitted_by": "planner", "submitted_at": "2026-06-02T08:00:00Z"},
                response_only=True,
                status_codes=["200", "201"],
            ),
        ],
    )
    @action(detail=True, methods=["put", "post"], url_path="after-action", filterset_class=None)
    def after_action(self, request, pk=None):
        engagement = self.get_object()
        existing = AfterActionReport.objects.filter(engagement=engagement).exists()
        serializer = AfterActionSerializer(data=request.data, partial=existing)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            report = services.after_action_submit(engagement=engagement, user=request.user, **serializer.validated_data)
        report = AfterActionReport.objects.select_related("submitted_by").get(pk=report.pk)
        return Response(
            AfterActionSerializer(report).data, status=status.HTTP_200_OK if existing else status.HTTP_201_CREATED
        )

    def _approval_input(self, request):
        serializer = ApprovalInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        summary="Approve a planned engagement (four-eyes)",
        description="Approvers only, for engagements of their units and the units below them (admins: all), "
        "never one they created themselves. Moves it from planned to approved and records who, when and the "
        "optional `comment`. 403 with the reason when refused.",
        request=ApprovalInputSerializer,
        responses={200: EngagementSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="approve", filterset_class=None)
    def approve(self, request, pk=None):
        return self._decide(request, services.engagement_approve)

    @extend_schema(
        summary="Refuse approval, saying why",
        description="The same rules as approve; the `comment` is required. The engagement stays planned; the "
        "refusal is recorded (approvals and history) and announced to the planner.",
        request=ApprovalInputSerializer,
        responses={200: EngagementSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="refuse", filterset_class=None)
    def refuse(self, request, pk=None):
        return self._decide(request, services.engagement_refuse)

    def _decide(self, request, decide):
        """Approve or refuse (``decide``: the service) with the input's comment and version; the engagement."""
        engagement = self.get_object()
        data = self._approval_input(request)
        with service_errors():
            decide(
                engagement=engagement, user=request.user, comment=data["comment"], expected_version=data.get("version")
            )
        return self._respond(engagement.pk)

    @extend_schema(
        summary="Ask for approval",
        description="Planners who may write the engagement (their units and below), while it is planned: the "
        "approvers of its owner unit and of the units above it are notified. Answers with the approval steps.",
        request=ApprovalInputSerializer,
        responses={201: ApprovalSerializer(many=True)},
    )
    @action(detail=True, methods=["post"], url_path="request-approval", filterset_class=None, pagination_class=None)
    def request_approval(self, request, pk=None):
        engagement = self.get_object()
        data = self._approval_input(request)
        with service_errors():
            services.approval_request(engagement=engagement, user=request.user, comment=data["comment"])
        steps = selectors.approvals_of(engagement=engagement)
        return Response(ApprovalSerializer(steps, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The engagement's approval steps, newest first",
        description="Requested, approved, refused, and reset (back to planned after a change of dates, host "
        "or participants), each with who, when and the comment.",
        responses={200: ApprovalSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="approvals", filterset_class=None, pagination_class=None)
    def approvals(self, request, pk=None):
        engagement = self.get_object()
        return Response(ApprovalSerializer(selectors.approvals_of(engagement=engagement), many=True).data)

    # Last in the class: the name ``list`` would hide the builtin in the class body below it.
    def list(self, request, *args, **kwargs):
        """The list, from the cache when it holds this request's JSON (core/page_cache.py, "Lists"): never a
        view that depends on who asks or when, nor another format than JSON (the browsable API names the
        user)."""
        snapshot = None
        if request.accepted_renderer.format == "json" and not never_cached(request.query_params):
            snapshot = page_cache.list_snapshot(
                request,
                LIST_CACHE_KIND,
                extra=(request.accepted_media_type,),
                may_lag=may_read_restricted(request.user),
            )
        if snapshot is not None and snapshot.entry is not None:
            body, extra = snapshot.entry
            return HttpResponse(body, content_type=extra["content_type"])
        try:
            response = super().list(request, *args, **kwargs)
        except BaseException:
            if snapshot is not None:
                snapshot.release()
            raise
        response.list_snapshot = snapshot
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        snapshot = getattr(response, "list_snapshot", None)
        if snapshot is not None:
            if response.status_code == status.HTTP_200_OK:
                response.render()
                snapshot.store(response.content.decode(), {"content_type": response["Content-Type"]})
            else:
                snapshot.release()
        return response


@extend_schema_view(
    list=extend_schema(summary="List exercise series"),
    retrieve=extend_schema(summary="One exercise series by slug"),
    create=extend_schema(
        summary="Create an exercise series",
        examples=[
            OpenApiExample(
                "series",
                value={"name": "African Lion", "description": "Annual combined exercise.", "lead_organization": None},
                request_only=True,
            ),
            OpenApiExample(
                "created",
                value={
                    "slug": "african-lion",
                    "name": "African Lion",
                    "description": "Annual combined exercise.",
                    "lead_organization": None,
                    "iteration_count": 0,
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    ),
)
@extend_schema(tags=["engagements"])
class ExerciseSeriesViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Recurring exercises (African Lion, Flintlock ...); an engagement names its series by slug."""

    serializer_class = ExerciseSeriesSerializer
    permission_classes = [ModelRolePermission]
    permission_model = ExerciseSeries
    parser_classes = [JSONParser]
    lookup_field = "slug"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.series_list(user=self.request.user).order_by("name")

    def create(self, request, *args, **kwargs):
        services.creator_check(request.user)  # a planner without a unit: 403 saying why, whatever the input
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            series = services.series_create(user=request.user, **serializer.service_arguments())
        series = self.get_queryset().get(pk=series.pk)
        return Response(self.get_serializer(series).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="Changes to engagements since a time",
        description="Created, updated and deleted engagements from the change history, oldest first, so a client "
        "can stay in sync without reading everything again: start with `since`, then store the answer's "
        "`next_cursor` and pass it as `cursor` next time (or follow `next` while it is not null): you get every "
        "change after the last one you read, none twice, even when many share a time. For users who may not read "
        "restricted engagements (viewers), changes made while an engagement was restricted are left out: the "
        "change that made it restricted is `withdrawn` (drop your copy), the one that lifted the restriction "
        "`created`.",
        parameters=[ChangeQuerySerializer],
    )
)
@extend_schema(tags=["engagements"])
class ChangeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ChangeSerializer
    permission_classes = [ModelRolePermission]
    permission_model = Engagement
    pagination_class = FeedPagination
    error_examples = {  # this endpoint's own error answer in the schema (core.api.schema.AutoSchema)
        "400": {
            "detail": "Invalid input.",
            "code": "invalid",
            "errors": {"cursor": ["Not a cursor from this feed: use next_cursor as given."]},
        }
    }
    # The feed's order, a unique key: what a cursor holds.
    cursor_fields = ("row_time", "row_order", "row_history_id")

    def feed_query(self) -> dict:
        if not hasattr(self, "_feed_query"):
            query = ChangeQuerySerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            self._feed_query = query.validated_data
        return self._feed_query

    def feed_position(self) -> list:
        """Where this request starts: the cursor given, else just before ``since``."""
        query = self.feed_query()
        return list(query["cursor"]) if "cursor" in query else [query["since"], -1, 0]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request parameters
            return Engagement.history.none()
        query = self.feed_query()
        return selectors.engagement_changes(user=self.request.user, since=query.get("since"), after=query.get("cursor"))


@extend_schema_view(
    list=extend_schema(summary="Saved filters you may apply: yours and the shared ones"),
    create=extend_schema(summary="Save a filter of the engagement list"),
    retrieve=extend_schema(summary="One saved filter (yours or a shared one)"),
    update=extend_schema(summary="Change a saved filter (its owner only)"),
    partial_update=extend_schema(summary="Change some fields of a saved filter (its owner only)"),
    destroy=extend_schema(summary="Delete a saved filter (its owner only)"),
)
@extend_schema(tags=["engagements"])
class SavedFilterViewSet(viewsets.ModelViewSet):
    """Named filters of the engagement list, per user, private or shared with everybody. Anyone signed in
    keeps their own; applying one is listing ``/api/v1/engagements/?`` + its ``query``."""

    serializer_class = SavedFilterSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SavedFilter.objects.none()
        return selectors.saved_filters_for(user=self.request.user)

    def perform_create(self, serializer):
        with service_errors():
            saved = services.saved_filter_create(owner=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_update(self, serializer):
        with service_errors():
            saved = services.saved_filter_update(
                saved_filter=serializer.instance, user=self.request.user, **serializer.validated_data
            )
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_destroy(self, instance):
        services.saved_filter_delete(saved_filter=instance, user=self.request.user)


class CalendarFeedSerializer(serializers.Serializer):
    url = serializers.URLField(
        allow_null=True,
        read_only=True,
        help_text="Your secret iCal feed address (add the list's filters as query parameters); null until made.",
    )


@extend_schema(tags=["engagements"])
class CalendarFeedView(APIView):
    """The signed-in user's calendar feed address, as on the calendar page's Subscribe panel."""

    permission_classes = [IsAuthenticated]

    def _answer(self, request, secret, *, status_code=status.HTTP_200_OK) -> Response:
        url = None
        if secret:
            url = request.build_absolute_uri(reverse("engagements:calendar_feed", kwargs={"secret": secret}))
        return Response(CalendarFeedSerializer({"url": url}).data, status=status_code)

    @extend_schema(summary="Your calendar feed address", responses=CalendarFeedSerializer)
    def get(self, request):
        return self._answer(request, selectors.calendar_feed_secret(user=request.user))

    @extend_schema(
        summary="Make or reset your calendar feed address (the previous one stops at once)",
        request=None,
        responses=CalendarFeedSerializer,
    )
    def post(self, request):
        return self._answer(request, services.calendar_feed_reset(user=request.user))
