"""The import page: upload, see the dry run (every bad row with line, column and reason), then confirm.

A file that passed its dry run is kept in a private temporary folder under a random token held in the
user's session, so the planner confirms without uploading it again; it is removed once imported.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.hostile import too_large_message
from engagements import exchange
from engagements.imports import ImportFileError, engagements_import

KEEP_SECONDS = 3600
SESSION_KEY = "engagement_import"


def _folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "engagement-tracker-imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    for old in folder.iterdir():
        if old.stat().st_mtime < time.time() - KEEP_SECONDS:
            old.unlink(missing_ok=True)
    return folder


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File (CSV or XLSX)"),
        help_text=gettext_lazy("One row per engagement, in the format of the template."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.MAX_UPLOAD_BYTES:  # the request itself is refused first (core.hostile)
            raise ValidationError(too_large_message())
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise ValidationError(_("Upload a .csv or .xlsx file."))
        return upload


def _require_import_permission(request):
    if not request.user.has_perm("engagements.import_engagements"):
        raise PermissionDenied(_("Only planners can import engagements."))


def engagement_import(request):
    _require_import_permission(request)
    context = {"form": ImportForm(), "columns": exchange.COLUMNS, "required": exchange.REQUIRED_COLUMNS}
    if request.method == "POST" and "confirm" in request.POST:
        return _confirm(request)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload = form.cleaned_data["file"]
            suffix = ".xlsx" if upload.name.lower().endswith(".xlsx") else ".csv"
            token = uuid.uuid4().hex
            path = _folder() / f"{token}{suffix}"
            with path.open("wb") as target:
                for chunk in upload.chunks():
                    target.write(chunk)
            try:
                with path.open("rb") as handle:
                    report = engagements_import(
                        handle=handle, name=path.name, user=request.user, dry_run=True, file_name=upload.name
                    )
            except ImportFileError as exc:
                path.unlink(missing_ok=True)
                form.add_error("file", str(exc))
                return render(request, "engagements/import.html", context, status=400)
            context["report"] = report
            context["filename"] = upload.name
            if report.ok:
                request.session[SESSION_KEY] = {"token": token, "suffix": suffix, "filename": upload.name}
                context["token"] = token
            else:
                path.unlink(missing_ok=True)
            return render(request, "engagements/import.html", context, status=200 if report.ok else 400)
        return render(request, "engagements/import.html", context, status=400)
    return render(request, "engagements/import.html", context)


def _confirm(request):
    pending = request.session.get(SESSION_KEY) or {}
    token = request.POST.get("confirm", "")
    if not pending or pending.get("token") != token or not token.isalnum():
        messages.error(request, _("That upload has expired. Upload the file again."))
        return redirect("engagements:import")
    path = _folder() / f"{token}{pending['suffix']}"
    if not path.exists():
        messages.error(request, _("That upload has expired. Upload the file again."))
        return redirect("engagements:import")
    try:
        with path.open("rb") as handle:
            report = engagements_import(
                handle=handle, name=path.name, user=request.user, dry_run=False, file_name=pending["filename"]
            )
    except (ImportFileError, ValidationError) as exc:
        messages.error(
            request, _("Nothing was imported: %(error)s") % {"error": "; ".join(getattr(exc, "messages", [str(exc)]))}
        )
        return redirect("engagements:import")
    finally:
        request.session.pop(SESSION_KEY, None)
    if not report.ok:
        context = {
            "form": ImportForm(),
            "report": report,
            "filename": pending["filename"],
            "columns": exchange.COLUMNS,
            "required": exchange.REQUIRED_COLUMNS,
        }
        return render(request, "engagements/import.html", context, status=400)
    os.unlink(path)
    messages.success(
        request,
        _("Imported %(file)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.")
        % {
            "file": pending["filename"],
            "created": report.to_create,
            "updated": report.to_update,
            "unchanged": report.unchanged,
        },
    )
    # The planner lands on what the import wrote: the batch's rows.
    return redirect(f"{reverse('engagements:list')}?import_batch={report.batch_id}")


def import_template(request, fmt: str):
    """The exchange format's header with two example rows, as CSV or XLSX."""
    _require_import_permission(request)
    if fmt == "xlsx":
        rows = [[row.get(c, "") for c in exchange.COLUMNS] for row in exchange.EXAMPLE_ROWS]
        response = HttpResponse(
            exchange.xlsx_bytes(rows), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = 'attachment; filename="engagements-template.xlsx"'
        return response
    response = HttpResponse(exchange.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="engagements-template.csv"'
    return response
