"""POST /api/v1/engagements/import/: the same all-or-nothing import as the page and the command."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from engagements.imports import MAX_REPORTED_ERRORS, ImportFileError, engagements_import

ROW_ERRORS = inline_serializer(
    "ImportRowError",
    {
        "line": serializers.IntegerField(),
        "column": serializers.CharField(),
        "message": serializers.CharField(),
        "reference": serializers.CharField(),
    },
    many=True,
)
REPORT = inline_serializer(
    "ImportReport",
    {
        "rows": serializers.IntegerField(),
        "to_create": serializers.IntegerField(),
        "to_update": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "error_count": serializers.IntegerField(),
        "errors": ROW_ERRORS,
        "errors_truncated": serializers.BooleanField(),
        "dry_run": serializers.BooleanField(),
        "applied": serializers.BooleanField(),
    },
)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX in the engagement exchange format.")
    dry_run = serializers.BooleanField(default=True, help_text="Only check the file (default). Set false to import.")


class EngagementImportView(APIView):
    """Check (dry run, the default) or import a file of engagements; nothing is written unless every row is valid."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="engagements_import",
        request={"multipart/form-data": ImportRequestSerializer},
        responses={200: REPORT, 201: REPORT, 400: REPORT},
        tags=["engagements"],
        description=(
            "One row per engagement; participants as `ISO3:role:personnel` separated by `;`, organizations as "
            f"acronyms separated by `;`. Up to {MAX_REPORTED_ERRORS} bad rows are listed with line, column and reason."
        ),
        examples=[
            OpenApiExample(
                "Dry run with one bad row",
                response_only=True,
                status_codes=["400"],
                value={
                    "rows": 2,
                    "to_create": 1,
                    "to_update": 0,
                    "unchanged": 0,
                    "error_count": 1,
                    "errors": [
                        {
                            "line": 3,
                            "column": "end_date",
                            "message": "The end date cannot be before the start date (2025-05-10).",
                            "reference": "",
                        }
                    ],
                    "errors_truncated": False,
                    "dry_run": True,
                    "applied": False,
                },
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("engagements.import_engagements"):
            raise PermissionDenied(_("Only planners can import engagements."))
        query = ImportRequestSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        upload = query.validated_data["file"]
        try:
            report = engagements_import(
                handle=upload.file, name=upload.name, user=request.user, dry_run=query.validated_data["dry_run"]
            )
        except ImportFileError as exc:
            return Response(
                {"detail": str(exc), "code": "invalid", "errors": {"file": [str(exc)]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = report.as_dict()
        if not report.ok:
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_201_CREATED if report.applied else status.HTTP_200_OK)
