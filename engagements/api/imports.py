"""POST /api/v1/engagements/import/: the same all-or-nothing import as the page and the command."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from core.api.serializers import ErrorSerializer
from core.api.writes import WriteContractMixin
from engagements.api.serializers import WarningSerializer
from engagements.imports import MAX_REPORTED_ERRORS, ImportFileError, engagements_import


class ImportRowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line in the file; the header is line 1.")
    column = serializers.CharField(help_text="Column of the exchange format, empty when the whole row is concerned.")
    message = serializers.CharField()
    reference = serializers.CharField(help_text="The row's reference, if it has one.")


class ImportPreviewRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["create", "update", "unchanged"])
    reference = serializers.CharField(help_text="Empty for a new engagement without a reference in the file.")
    title = serializers.CharField()
    status = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    host_country = serializers.CharField()
    participants = serializers.ListField(child=serializers.CharField())
    changed = serializers.ListField(child=serializers.CharField(), help_text="Columns an update changes.")
    warnings = WarningSerializer(many=True)


class ImportReportSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    to_create = serializers.IntegerField()
    to_update = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    error_count = serializers.IntegerField()
    errors = ImportRowErrorSerializer(many=True)
    errors_truncated = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()
    notices = ImportRowErrorSerializer(many=True, help_text="Country names read as codes, with the code taken.")
    preview = ImportPreviewRowSerializer(
        many=True, help_text="The check (dry run): the first rows as they will be written, with their warnings."
    )
    preview_truncated = serializers.BooleanField(help_text="More rows than the preview lists.")
    batch = serializers.IntegerField(
        allow_null=True, help_text="The import batch (applied imports): `/api/v1/engagements/?import_batch=<id>`."
    )


class ImportErrorSerializer(serializers.Serializer):
    """The API's error shape, with the check's report when the file could be read."""

    optional_in_response = ("report",)  # read by core.api.schema.AutoSchema

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    report = ImportReportSerializer(required=False)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX in the engagement exchange format.")
    dry_run = serializers.BooleanField(default=True, help_text="Only check the file (default). Set false to import.")


REPORT_EXAMPLE = {
    "preview": [],
    "preview_truncated": False,
    "batch": None,
    "rows": 2,
    "to_create": 2,
    "to_update": 0,
    "unchanged": 0,
    "error_count": 0,
    "errors": [],
    "errors_truncated": False,
    "dry_run": True,
    "applied": False,
    "notices": [],
}
BAD_ROW = {
    "line": 3,
    "column": "end_date",
    "message": "The end date cannot be before the start date (2025-05-10).",
    "reference": "",
}


class EngagementImportView(WriteContractMixin, APIView):
    """Check (dry run, the default) or import a file of engagements; nothing is written unless every row is valid."""

    parser_classes = [MultiPartParser, FormParser]

    def created_location(self, request, data):
        """An applied import's 201 points at the engagements it wrote: the list filtered by its batch."""
        return reverse("engagement-list", request=request).rstrip("/") + f"/?import_batch={data.get('batch')}"

    @extend_schema(
        operation_id="engagements_import",
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: ImportReportSerializer,
            201: ImportReportSerializer,
            400: ImportErrorSerializer,
            413: OpenApiResponse(ErrorSerializer, description="The upload is larger than DJANGO_MAX_UPLOAD_MB."),
        },
        tags=["engagements"],
        description=(
            "One row per engagement; participants as `ISO3:role:personnel` separated by `;`, organizations as "
            f"acronyms separated by `;`. Up to {MAX_REPORTED_ERRORS} bad rows are listed with line, column and reason."
        ),
        examples=[
            OpenApiExample("Dry run of a valid file", response_only=True, status_codes=["200"], value=REPORT_EXAMPLE),
            OpenApiExample(
                "Imported",
                response_only=True,
                status_codes=["201"],
                value={**REPORT_EXAMPLE, "dry_run": False, "applied": True},
            ),
            OpenApiExample(
                "A bad row: nothing written",
                response_only=True,
                status_codes=["400"],
                value={
                    "detail": "1 row has problems: nothing was written.",
                    "code": "invalid",
                    "errors": {
                        "rows": ["line 3, end_date: The end date cannot be before the start date (2025-05-10)."]
                    },
                    "report": {**REPORT_EXAMPLE, "to_create": 1, "error_count": 1, "errors": [BAD_ROW]},
                },
            ),
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
                handle=upload.file,
                name=upload.name,
                user=request.user,
                dry_run=query.validated_data["dry_run"],
                file_name=upload.name,
            )
        except ImportFileError as exc:
            return Response(
                {"detail": str(exc), "code": "invalid", "errors": {"file": [str(exc)]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = ImportReportSerializer(report.as_dict()).data
        if not report.ok:
            lines = [f"line {e.line}, {e.column or '-'}: {e.message}" for e in report.errors]
            detail = _("%(n)s row(s) have problems: nothing was written.") % {"n": report.error_count}
            return Response(
                {"detail": detail, "code": "invalid", "errors": {"rows": lines}, "report": body},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(body, status=status.HTTP_201_CREATED if report.applied else status.HTTP_200_OK)
