"""POST /api/v1/engagements/bulk/: many new engagements in one request, all or nothing, with every bad row's
problems reported at once, as the import reports them (row index, field, message)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from core.api.exceptions import flatten_errors
from core.api.parsers import JSONParser
from core.api.serializers import ErrorSerializer
from core.api.writes import WriteContractMixin
from engagements import extensions, rules, selectors, services
from engagements.api.serializers import ENGAGEMENT_EXAMPLE, ENGAGEMENT_RESPONSE_EXAMPLE, EngagementSerializer


class MayCreateEngagements(permissions.BasePermission):
    """Planners and admins, as for a single create."""

    message = gettext_lazy("Your role cannot create engagements.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("engagements.add_engagement"))


class BulkRowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The row's position in the list sent, from 0.")
    field = serializers.CharField(
        help_text="The field, by path within the row (participants[1].partner); empty for the row as a whole."
    )
    message = serializers.CharField()


class BulkErrorSerializer(ErrorSerializer):
    """The API's error shape; ``errors`` by path (``[2].end_date``), and ``rows`` listing the same problems
    by row index and field, as the import lists them by line and column."""

    optional_in_response = (*ErrorSerializer.optional_in_response, "rows")

    rows = BulkRowErrorSerializer(many=True, required=False)


class BulkCreatedSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many engagements were created.")
    results = EngagementSerializer(many=True, help_text="The created engagements, in the order sent.")


def _row_errors(index: int, error) -> dict[str, list[str]]:
    """One row's problems by path: the parser's (DRF's nested errors) or the service's (``InputError``:
    fields, and participants by their row)."""
    if not isinstance(error, DjangoValidationError):
        return flatten_errors(error, prefix=f"[{index}]")
    fields = getattr(error, "fields", None)
    if fields is None:
        fields = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
    nested = {name: list(messages) for name, messages in fields.items()}
    if getattr(error, "rows", None):
        nested["participants"] = {row: dict(messages) for row, messages in error.rows.items()}
    return flatten_errors(nested, prefix=f"[{index}]")


BAD_ROWS_EXAMPLE = {
    "detail": "2 rows have problems: nothing was written.",
    "code": "invalid",
    "errors": {
        "[0].end_date": ["The end date cannot be before the start date (2026-05-04)."],
        "[2].participants[1].partner": ["Unknown country code “XYZ”: use an ISO 3166-1 alpha-3 code."],
    },
    "rows": [
        {"index": 0, "field": "end_date", "message": "The end date cannot be before the start date (2026-05-04)."},
        {
            "index": 2,
            "field": "participants[1].partner",
            "message": "Unknown country code “XYZ”: use an ISO 3166-1 alpha-3 code.",
        },
    ],
}


class EngagementBulkCreateView(WriteContractMixin, APIView):
    """Create up to ``rules.BULK_CREATE_MAX`` engagements at once: every row is checked (by the same steps as a
    single create) before anything is written; one bad row, nothing written."""

    permission_classes = [permissions.IsAuthenticated, MayCreateEngagements]
    parser_classes = [JSONParser]

    def created_location(self, request, data):
        """The 201 points at the list the engagements were added to (core.api.writes)."""
        return reverse("engagement-list", request=request).rstrip("/") + "/"

    @extend_schema(
        operation_id="engagements_bulk_create",
        summary="Create many engagements at once, all or nothing",
        description=(
            "A JSON list of engagements, each with the fields of `POST /api/v1/engagements/` (participants, "
            f"organizations and after-action report included), at most {rules.BULK_CREATE_MAX}. Every row is "
            "checked before anything is written, with the messages of a single create; if any row has a problem, "
            "nothing is written and the 400 lists every bad row's problems: in `errors` by path (`[2].end_date`, "
            "`[0].participants[1].partner`) and in `rows` by index and field. Otherwise all are created in one "
            "transaction (history recorded, scores recomputed and webhooks told once for the batch) and the 201 "
            "lists them in the order sent. `Idempotency-Key` works as for a single create. Deconfliction warnings "
            "are not computed here: `warnings` is empty."
        ),
        # A plain list of the single create's body (its component, which that operation declares), with the cap.
        request={
            "application/json": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/EngagementRequest"},
                "minItems": 1,
                "maxItems": rules.BULK_CREATE_MAX,
            }
        },
        responses={
            201: BulkCreatedSerializer,
            400: OpenApiResponse(BulkErrorSerializer, description="Bad rows (nothing written), or a list too long."),
            403: OpenApiResponse(ErrorSerializer, description="Only planners and admins create engagements."),
        },
        examples=[
            OpenApiExample(
                "Two engagements",
                request_only=True,
                value=[
                    ENGAGEMENT_EXAMPLE,
                    {
                        **ENGAGEMENT_EXAMPLE,
                        "title": "African Lion 2027",
                        "start_date": "2027-05-03",
                        "end_date": "2027-05-21",
                    },
                ],
            ),
            OpenApiExample(
                "Created",
                response_only=True,
                status_codes=["201"],
                value={"count": 1, "results": [{**ENGAGEMENT_RESPONSE_EXAMPLE, "warnings": []}]},
            ),
            OpenApiExample(
                "Bad rows: nothing written", response_only=True, status_codes=["400"], value=BAD_ROWS_EXAMPLE
            ),
        ],
        tags=["engagements"],
    )
    def post(self, request, *args, **kwargs):
        rows = request.data
        if not isinstance(rows, list):
            return self._refused(_("Send a JSON list of engagements."))
        if problem := rules.bulk_size_problem(len(rows)):
            return self._refused(problem)
        errors: dict[int, dict[str, list[str]]] = {}
        parsed = []
        owner_default = services.with_owner_unit(request.user, {})["owner_unit"]  # read once for every row
        for index, row in enumerate(rows):
            serializer = EngagementSerializer(data=row)
            if serializer.is_valid():
                arguments = serializer.service_arguments()
                if arguments.get("owner_unit") in (None, ""):
                    arguments["owner_unit"] = owner_default
                arguments.pop("expected_version", None)
                parsed.append((index, arguments))
            else:
                errors[index] = _row_errors(index, serializer.errors)
        checked, problems = services.engagement_bulk_create_clean(rows=parsed, created_by=request.user)
        for index, error in problems.items():
            errors[index] = _row_errors(index, error)
        if errors:
            return self._bad_rows(errors)
        created = services.engagements_bulk_create(
            engagements=[checked[index] for index in range(len(rows))], created_by=request.user
        )
        ids = [engagement.pk for engagement in created]
        loaded = {
            e.pk: e
            for e in extensions.prepare(
                selectors.engagement_list(user=request.user)
                .select_related("after_action__submitted_by")
                .filter(pk__in=ids)
            )
        }
        results = EngagementSerializer([loaded[pk] for pk in ids], many=True).data
        return Response({"count": len(ids), "results": results}, status=status.HTTP_201_CREATED)

    def _refused(self, message: str) -> Response:
        body = {"detail": message, "code": "invalid", "errors": {"non_field_errors": [message]}}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    def _bad_rows(self, errors: dict[int, dict[str, list[str]]]) -> Response:
        flat: dict[str, list[str]] = {}
        rows = []
        for index in sorted(errors):
            for path, messages in errors[index].items():
                flat[path] = messages
                field = path.removeprefix(f"[{index}]").removeprefix(".")
                rows += [{"index": index, "field": field, "message": message} for message in messages]
        detail = ngettext(
            "%(n)d row has problems: nothing was written.",
            "%(n)d rows have problems: nothing was written.",
            len(errors),
        ) % {"n": len(errors)}
        return Response({"detail": detail, "code": "invalid", "errors": flat, "rows": rows}, status=400)
