"""Importing engagements from CSV or XLSX: all or nothing, with every bad row reported.

The file is read once, in batches, so memory stays bounded whatever its size. Every row is checked through
the services' check-only steps (``engagement_create_clean`` for a new engagement, ``engagement_update_clean``
for one its reference names: the same rules as pages and API, status policy included). The check (dry run)
writes nothing. A real import writes each batch once it is checked, while no row so far is bad, in one
transaction: new engagements in bulk (``engagements_bulk_create``, by COPY), changed ones through
``engagement_update`` (with history), unchanged ones not at all. A bad row stops the writing, the rest of
the file is still checked for the report, and the transaction rolls back: nothing is half-saved. A row
whose ``reference`` exists updates that engagement, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import gc
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core import xlsx
from core.copy import in_background, wait_for_background
from core.db import analyze, constraints_checked_by_statement
from engagements import deconfliction, exchange, extensions, rules, services
from engagements.models import AfterActionReport, Engagement, ImportBatch, Participation, PartnerChange
from partners.selectors import partner_by_name

# Rows checked, then written, together: each batch costs a few statements (COPY per table, history).
BATCH_SIZE = 5000
# From this many written rows on, an import refreshes the tables' planner statistics before it commits.
ANALYZE_AFTER_ROWS = 5000
MAX_REPORTED_ERRORS = 500
# The check lists this many rows as they will be written, each with its deconfliction findings (a few
# queries per row); the counts always cover the whole file.
MAX_PREVIEW_ROWS = 500


class ImportFileError(Exception):
    """The file as a whole cannot be read (not CSV/XLSX, bad encoding, missing columns)."""


@dataclass
class RowError:
    line: int
    column: str
    message: str
    reference: str = ""

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message, "reference": self.reference}


@dataclass
class ImportReport:
    rows: int = 0
    to_create: int = 0
    to_update: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = True
    applied: bool = False
    created_references: list[str] = field(default_factory=list)
    # Country names read as codes ("Ivory Coast" -> CIV): not problems, but said, so nobody is surprised.
    notices: list[RowError] = field(default_factory=list)
    # The check: each row as it will be written (create, update with the columns it changes, unchanged).
    preview: list[dict] = field(default_factory=list)
    preview_truncated: bool = False
    batch_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "to_create": self.to_create,
            "to_update": self.to_update,
            "unchanged": self.unchanged,
            "error_count": self.error_count,
            "errors": [e.as_dict() for e in self.errors],
            "errors_truncated": self.error_count > len(self.errors),
            "dry_run": self.dry_run,
            "applied": self.applied,
            "notices": [n.as_dict() for n in self.notices],
            "preview": self.preview,
            "preview_truncated": self.preview_truncated,
            "batch": self.batch_id,
        }


# --- reading ----------------------------------------------------------------------------------------------


def _is_xlsx(handle: IO[bytes], name: str) -> bool:
    position = handle.tell()
    head = handle.read(4)
    handle.seek(position)
    return head == b"PK\x03\x04" or name.lower().endswith(".xlsx")


def _check_header(header: list[str]) -> list[str]:
    header = [exchange.cell_text(h).lower() for h in header]
    missing = [c for c in exchange.REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c and c not in exchange.COLUMNS]
    duplicated = sorted({c for c in header if c and header.count(c) > 1})
    problems = []
    if missing:
        problems.append(_("missing columns: %(cols)s") % {"cols": ", ".join(missing)})
    if unknown:
        problems.append(_("unknown columns: %(cols)s") % {"cols": ", ".join(unknown)})
    if duplicated:
        problems.append(_("columns given twice: %(cols)s") % {"cols": ", ".join(duplicated)})
    if problems:
        raise ImportFileError(
            _("Line 1 (header): %(problems)s. The columns are: %(columns)s.")
            % {"problems": "; ".join(problems), "columns": ", ".join(exchange.COLUMNS)}
        )
    return header


def read_rows(handle: IO[bytes], name: str = "") -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row as text by column) for each non-empty data row; the header is line 1."""
    handle.seek(0)
    if _is_xlsx(handle, name):
        try:
            yield from _read_xlsx(handle)
        except xlsx.UnreadableWorkbook as exc:
            raise ImportFileError(str(exc)) from exc
    else:
        yield from _read_csv(handle)


def _read_csv(handle: IO[bytes]) -> Iterator[tuple[int, dict[str, str]]]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text)
        try:
            header = _check_header(next(reader))
        except StopIteration:
            raise ImportFileError(_("The file is empty.")) from None
        line = 1
        for values in reader:
            line = reader.line_num
            joined = "".join(values)
            if not joined.strip():  # no cell but blanks (one call, not one per cell)
                continue
            if len(values) > len(header):
                raise ImportFileError(_("Line %(line)s has more cells than the header.") % {"line": line})
            # exchange.cell_text, the call saved for the cells that need more (a leading quote: rare).
            row = dict(zip(header, map(str.strip, values), strict=False))
            if "'" in joined:
                for column, cell in row.items():
                    if cell[:1] == "'":
                        row[column] = exchange.cell_text(cell)
            yield line, row
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The file is not UTF-8 text: save it as CSV UTF-8 or XLSX.")) from exc
    except csv.Error as exc:
        raise ImportFileError(_("The CSV cannot be read: %(error)s") % {"error": exc}) from exc
    finally:
        text.detach()


def _read_xlsx(handle: IO[bytes]) -> Iterator[tuple[int, dict[str, str]]]:
    rows = xlsx.sheet_rows(handle)  # defused and size-checked (core/xlsx.py)
    try:
        try:
            header = _check_header(list(next(rows)))
        except StopIteration:
            raise ImportFileError(_("The file is empty.")) from None
        for line, values in enumerate(rows, start=2):
            if not any(v not in (None, "") for v in values):
                continue
            yield (
                line,
                {column: exchange.cell_text(value) for column, value in zip(header, values, strict=False) if column},
            )
    finally:
        rows.close()


# --- validating and applying ------------------------------------------------------------------------------


def _errors_from(exc: ValidationError, line: int, reference: str) -> list[RowError]:
    found = []
    for name, messages in exc.message_dict.items():
        column = exchange.FIELD_TO_COLUMN.get(name, name if name in exchange.COLUMNS else "")
        for message in messages:
            found.append(RowError(line, column, message, reference))
    return found


_STORED = ("status", "deleted_at", "start_date", "end_date", "latitude", "longitude", "owner_unit_id")


@dataclass(frozen=True)
class _Stored:
    """An engagement a row's reference names: what the checks need, and its row as export writes it."""

    pk: int
    engagement: Engagement  # only the values the update check reads (``_STORED``), not loaded with relations
    row: list[str]

    @property
    def deleted_at(self) -> datetime.datetime | None:
        return self.engagement.deleted_at

    @property
    def has_report(self) -> bool:
        return self.row[exchange.COLUMNS.index("interoperability_rating")] != ""  # ratings are required


def _existing(references: list[str]) -> dict[str, _Stored]:
    """The stored engagements of these references, read as plain values (model instances with prefetched
    relations took half of checking an unchanged 32,000-row file)."""
    references = [r for r in references if "\x00" not in r]  # none is stored; the row's check reports it
    found = list(Engagement.objects.filter(reference__in=references).values("pk", "reference", *_STORED))
    rows = exchange.rows_by_id([values["pk"] for values in found])
    return {
        values["reference"]: _Stored(
            pk=values["pk"],
            engagement=Engagement(pk=values["pk"], **{name: values[name] for name in _STORED}),
            row=rows[values["pk"]],
        )
        for values in found
    }


def _canonical(checked: services.CleanEngagement, current: list[str]) -> list[str]:
    """The row ``checked`` would produce on export (blank AAR date means "keep the stored one")."""
    fields, report = checked.fields, checked.after_action
    values = {column: fields.get(name) for column, name in exchange.ROW_FIELDS.items() if "__" not in name}
    values["reference"] = current[0]
    for name, key in exchange.REFERENCE_KEYS.items():
        if name not in fields:  # left out of the row (an empty owner unit): the stored value stays
            values[name] = current[exchange.COLUMNS.index(name)] or None
            continue
        values[name] = getattr(fields[name], key) if fields.get(name) else None
    for column, name in exchange.AAR_COLUMNS.items():
        values[column] = report.get(name) if report else None
    cells = {}
    for extension in extensions.file_extensions():
        cell = extension.to_cell(checked.extensions.get(extension.name, extensions.KEEP))
        cells[extension.name] = current[exchange.COLUMNS.index(extension.name)] if cell is None else cell
    row = exchange.row_from_values(
        values,
        organizations=[organization.acronym for organization in checked.organizations],
        participants=[(p["partner"].iso3, p["role"], p["personnel"]) for p in checked.participants],
        extensions=cells,
    )
    position = exchange.COLUMNS.index("aar_submitted_at")
    if report and not report.get("submitted_at"):
        row[position] = current[position]
    return row


def _host_country_named(line: int, row: dict[str, str], lookups, report: ImportReport | None = None) -> None:
    """A country given by name in the host_country column (any of its names or aliases, accents ignored:
    "Ivory Coast", "Turkey") is read as its code; the report says which code it took."""
    value = (row.get("host_country") or "").strip()
    if not value or value.upper() in lookups.partners:
        return
    partner = partner_by_name(value)
    if partner is None:
        return  # the service reports the unknown code
    row["host_country"] = partner.iso3
    if report is not None and len(report.notices) < MAX_REPORTED_ERRORS:
        message = _("“%(value)s” read as %(code)s (%(name)s).") % {
            "value": value,
            "code": partner.iso3,
            "name": partner.name,
        }
        report.notices.append(RowError(line, "host_country", message, row.get("reference", "").strip()))


@dataclass(frozen=True)
class _Importer:
    """Who imports, and the units whose engagements they write (None: all)."""

    user: object
    scope: set[int] | None
    default_unit: object  # the unit a new row without one gets (rules.default_owner_unit), asked once

    @classmethod
    def of(cls, user) -> _Importer:
        return cls(user=user, scope=rules.writable_unit_ids(user), default_unit=rules.default_owner_unit(user))

    def refusal(self, unit_id) -> str | None:
        return rules.unit_write_refusal(self.user, unit_id, scope=self.scope)


def _check_row(
    line: int, row: dict[str, str], lookups, existing: dict[str, _Stored], importer: _Importer
) -> tuple[services.CleanEngagement | None, list[RowError]]:
    reference = row.get("reference", "").strip()
    try:
        payload = exchange.service_input(row)
    except exchange.RowProblem as problem:
        return None, [RowError(line, problem.column, problem.message, reference)]
    current = existing.get(reference)
    if current is not None and current.deleted_at is not None:
        message = _("%(reference)s was deleted; leave the reference empty to create a new engagement.")
        return None, [RowError(line, "reference", message % {"reference": reference}, reference)]
    if current is not None and (refusal := importer.refusal(current.engagement.owner_unit_id)):
        return None, [RowError(line, "owner_unit", refusal, reference)]
    if current is None and "owner_unit" not in payload:
        unit = importer.default_unit
        payload["owner_unit"] = unit
        if unit is None and importer.scope is not None and not importer.scope:
            return None, [RowError(line, "owner_unit", rules.NO_UNIT(), reference)]
    try:
        if current is None:
            checked = services.engagement_create_clean(
                lookups=lookups, reference=reference or None, created_by=importer.user, **payload
            )
        else:
            checked = services.engagement_update_clean(
                engagement=current.engagement,
                has_report=current.has_report,
                lookups=lookups,
                after_action=payload.pop("after_action", None),  # a row without a report would remove it
                **payload,
            )
    except ValidationError as exc:
        return None, _errors_from(exc, line, reference)
    unit = checked.fields.get("owner_unit")
    if unit is not None and (refusal := importer.refusal(unit.pk)):
        return None, [RowError(line, "owner_unit", refusal, reference)]
    return checked, []


def _batches(handle: IO[bytes], name: str) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch = []
    for item in read_rows(handle, name):
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _preview_row(
    line: int, checked: services.CleanEngagement, current: _Stored | None, action: str, changed: list[str], user
) -> dict:
    """One row of the check as it will be written, with the deconfliction findings it would raise."""
    fields = checked.fields
    plan = deconfliction.Plan(
        start_date=fields["start_date"],
        end_date=fields["end_date"],
        host_country_id=fields["host_country"].pk,
        partner_ids=tuple(p["partner"].pk for p in checked.participants),
        title=fields["title"],
        series_id=fields["series"].pk if fields.get("series") else None,
        engagement_id=current.pk if current else None,
    )
    return {
        "line": line,
        "action": action,
        "reference": current.row[0] if current else (checked.reference or ""),
        "title": fields["title"],
        "status": fields["status"],
        "start_date": fields["start_date"],
        "end_date": fields["end_date"],
        "host_country": fields["host_country"].iso3,
        "participants": [p["partner"].iso3 for p in checked.participants],
        "changed": changed,
        "warnings": [f.as_dict() for f in deconfliction.findings(plan, user=user)] if action != UNCHANGED else [],
    }


CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"

# The tables a batch's new rows reach by the writing thread (``engagements_bulk_create``: COPY and history, each
# after its parents): their references are checked by each statement (core.db.constraints_checked_by_statement).
_COPIED = (
    Engagement,
    Engagement.organizations.through,
    Engagement.history.model,
    Participation,
    Participation.history.model,
    AfterActionReport,
    AfterActionReport.history.model,
    PartnerChange,
)


class _NothingSaved(Exception):
    """A row is bad: the import's transaction rolls back whatever it wrote."""


def engagements_import(
    *, handle: IO[bytes], name: str = "", user, dry_run: bool = True, file_name: str = "", preview: bool = True
) -> ImportReport:
    """Validate the whole file; unless ``dry_run`` or a row is bad, apply it in one transaction, recorded as
    an ``ImportBatch`` (``file_name``: the name the user gave the file) that the written engagements point to.
    The check (``dry_run``) lists the first ``MAX_PREVIEW_ROWS`` rows as they will be written, with warnings
    (unless ``preview`` is false: the command line prints counts and errors only).

    The import reads the file once: each batch of rows is checked, then written while no row so far is bad;
    the first bad row stops the writing, the rest of the file is still checked for the report, and the
    transaction rolls back, so nothing is half-saved.

    Raises ImportFileError when the file as a whole cannot be read.
    """
    report = ImportReport(dry_run=dry_run)
    with _collected_by_batch():
        return _import(
            handle=handle, name=name, user=user, dry_run=dry_run, file_name=file_name, preview=preview, report=report
        )


@contextlib.contextmanager
def _collected_by_batch():
    """Python's cycle collector runs once per batch (``_collect``) instead of every few hundred new objects:
    an import makes millions of dicts, lists and instances that live until their batch is written, and each
    automatic pass of the older generations walked all of them again (a sixth of the checking thread's CPU,
    bench/README.md). The collector is process-wide: it is switched back on at the end only if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _collect() -> None:
    """Between batches: the cycles the batch left (a refused row's exception and its frames) are freed, only
    the young generations walked (the batch's own objects), not everything the import keeps."""
    if not gc.isenabled():
        gc.collect(1)


def _import(*, handle, name, user, dry_run, file_name, preview, report) -> ImportReport:
    if dry_run:
        _check_file(handle, name, user, report, writer=None, preview=preview)
        if not report.ok:
            report.preview, report.preview_truncated = [], False
        return report
    try:
        with transaction.atomic(), services.changes_coalesced():  # one recompute for the whole file
            writer = _Writer(user, file_name=file_name or name)
            # New rows are sent to PostgreSQL by a second thread while the next batch is checked (core.copy), and
            # their references are checked by each COPY there, not all at the commit (core.db).
            with constraints_checked_by_statement(*_COPIED), in_background():
                _check_file(handle, name, user, report, writer=writer, preview=False)
                if not report.ok:
                    raise _NothingSaved
            writer.finish(report)
    except _NothingSaved:
        pass
    return report


def _check_file(handle: IO[bytes], name: str, user, report: ImportReport, *, writer, preview: bool) -> None:
    """Check every row into ``report``; with a ``writer``, write each batch while every row so far is good."""
    lookups = services.Lookups()
    importer = _Importer.of(user)
    seen_references: dict[str, int] = {}
    for batch in _batches(handle, name):
        references = [row.get("reference", "").strip() for _line, row in batch]
        existing = _existing([r for r in references if r])
        accepted: list[tuple[services.CleanEngagement, _Stored | None, dict]] = []
        for (line, row), reference in zip(batch, references, strict=True):
            report.rows += 1
            if reference:
                if reference in seen_references:
                    report.add_error(
                        RowError(
                            line,
                            "reference",
                            _("Duplicate reference: also on line %(line)s.") % {"line": seen_references[reference]},
                            reference,
                        )
                    )
                    continue
                seen_references[reference] = line
                if writer is not None and reference in writer.drawn:  # numbered by this import, rows above
                    message = _("Reference %(reference)s is already used.") % {"reference": reference}
                    report.add_error(RowError(line, "reference", message, reference))
                    continue
            _host_country_named(line, row, lookups, report)
            checked, errors = _check_row(line, row, lookups, existing, importer)
            for error in errors:
                report.add_error(error)
            if checked is None:
                continue
            current = existing.get(reference)
            changed: list[str] = []
            if current is None:
                report.to_create += 1
                action = CREATE
            else:
                canonical = _canonical(checked, current.row)
                changed = [
                    c for c, new, old in zip(exchange.COLUMNS, canonical, current.row, strict=True) if new != old
                ]
                if changed:
                    report.to_update += 1
                    action = UPDATE
                else:
                    report.unchanged += 1
                    action = UNCHANGED
            if action != UNCHANGED:
                accepted.append((checked, current, row))
            if preview and report.ok:  # once a row is bad the report is about errors, not a preview
                if len(report.preview) < MAX_PREVIEW_ROWS:
                    report.preview.append(_preview_row(line, checked, current, action, changed, user))
                else:
                    report.preview_truncated = True
        if writer is not None and report.ok:
            writer.write(accepted, report)
        _collect()
    if report.rows == 0:
        raise ImportFileError(_("The file has a header but no rows."))


class _Writer:
    """Writes an import's checked rows batch by batch, inside the import's transaction: new engagements in
    bulk (``engagements_bulk_create``: COPY, history and search names included), changed ones through
    ``engagement_update`` (with history)."""

    def __init__(self, user, *, file_name: str):
        self.user = user
        self.drawn: set[str] = set()  # the references this import numbered
        self.reports = 0  # after-action reports among the rows written
        self.session = services.BulkCreation()  # what every batch's bulk creation would read or draw again
        self.batch = ImportBatch.objects.create(
            file_name=file_name[:255], created_by=user if getattr(user, "pk", None) else None, rows=0
        )

    def write(
        self, accepted: list[tuple[services.CleanEngagement, _Stored | None, dict]], report: ImportReport
    ) -> None:
        new = []
        self.reports += sum(checked.after_action is not None for checked, _current, _row in accepted)
        for checked, current, row in accepted:
            if current is None:
                new.append(checked)
                continue
            wait_for_background()  # an update reads other engagements (its findings): the new ones are written
            services.engagement_update(
                engagement=Engagement(pk=current.pk),  # the service reads it again, locked
                updated_by=self.user,
                participants=checked.participants,
                organizations=checked.organizations,
                after_action=checked.after_action,
                extensions=exchange.service_input(row).get("extensions"),  # checked again with the row
                import_batch=self.batch,
                **checked.fields,
            )
        created = services.engagements_bulk_create(
            engagements=new, created_by=self.user, import_batch=self.batch, session=self.session
        )
        self.drawn.update(e.reference for e, checked in zip(created, new, strict=True) if not checked.reference)
        room = max(0, 100 - len(report.created_references))
        report.created_references.extend(e.reference for e in created[:room])

    def finish(self, report: ImportReport) -> None:
        self.session.finish()
        ImportBatch.objects.filter(pk=self.batch.pk).update(
            rows=report.rows,
            created_count=report.to_create,
            updated_count=report.to_update,
            unchanged_count=report.unchanged,
        )
        if report.to_create + report.to_update >= ANALYZE_AFTER_ROWS:
            # The scoring run queued on commit needs statistics that know about these rows (core.db.analyze); a
            # table the import wrote nothing to keeps its own (sampling the reports' table cost every import).
            analyze(
                Engagement,
                Participation,
                PartnerChange,
                *([AfterActionReport] if self.reports else []),
                fields_only=True,
            )
        report.applied = True
        report.batch_id = self.batch.pk
