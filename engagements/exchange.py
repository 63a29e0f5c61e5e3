"""The engagement exchange format: one row per engagement, shared by CSV/XLSX export and import.

Participants are ``ISO3:role:personnel`` separated by ``;``, organizations and threat focus are values
separated by ``;``. Fields that other apps own through ``engagements.extensions`` (the objectives an
engagement serves: their ids separated by ``;``) are columns after the engagement's own, written and read by
the extension. Export writes exactly what import reads, so exporting and re-importing a file changes
nothing.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import itertools
from collections.abc import Iterable, Iterator

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements.models import AfterActionReport, Engagement, Participation
from engagements.rules import AAR_FIELDS, ENGAGEMENT_FIELDS, REQUIRED_FIELDS, defaults

# The columns follow the model (engagements.rules): a field added to an engagement or its report is a column.
# References to other records are written as their public key (host country ISO3, series slug).
REFERENCE_KEYS = {"host_country": "iso3", "series": "slug", "owner_unit": "code", "point_of_contact": "username"}
_OWN = [name for name in ENGAGEMENT_FIELDS if name != "threat_focus"]
AAR_COLUMNS = {
    **{("aar_summary" if name == "summary" else name): name for name in AAR_FIELDS},
    "aar_submitted_at": "submitted_at",
}
COLUMNS = [
    "reference",
    *_OWN[: _OWN.index("longitude") + 1],
    "organizations",
    "threat_focus",
    *_OWN[_OWN.index("longitude") + 1 :],
    "participants",
    *AAR_COLUMNS,
]
REQUIRED_COLUMNS = REQUIRED_FIELDS
# The columns of engagement extensions (engagements.extensions), added when they register, after the others.
EXTENSION_COLUMNS: list[str] = []


def column_add(name: str) -> None:
    if name not in EXTENSION_COLUMNS:
        EXTENSION_COLUMNS.append(name)
        COLUMNS.append(name)


# Where a service error about a field is reported in the file.
FIELD_TO_COLUMN = {
    "after_action": "aar_summary",
    **{f"after_action.{field}": column for column, field in AAR_COLUMNS.items()},
}

EXAMPLE_ROWS = [
    {
        "title": "Flintlock 2026",
        "engagement_type": "exercise",
        "domain": "land",
        "status": "completed",
        "start_date": "2026-02-09",
        "end_date": "2026-02-27",
        "host_country": "CIV",
        "location_name": "Jacqueville",
        "latitude": "5.2050",
        "longitude": "-4.4170",
        "organizations": "ECOWAS",
        "threat_focus": "terrorism;insurgency",
        "description": "Annual special operations exercise.",
        "budget_usd": "2500000.00",
        "funding_source": "Partnership programme",
        "sensitivity": "unclassified",
        "series": "flintlock",
        "participants": "CIV:host:400;USA:lead:600;SEN:participant:120",
        "aar_summary": "Combined planning improved markedly.",
        "interoperability_rating": "4",
        "capacity_rating": "3",
        "trust_rating": "4",
        "lessons_learned": "Start radio integration earlier.",
        "recommendations": "Add a maritime phase.",
        "aar_submitted_at": "2026-03-20T09:00:00+00:00",
    },
    {
        "title": "Maritime domain awareness course",
        "engagement_type": "training_exchange",
        "domain": "maritime",
        "status": "planned",
        "start_date": "2026-09-07",
        "end_date": "2026-09-18",
        "host_country": "GHA",
        "participants": "GHA:trainee:30;FRA:trainer:6",
        "threat_focus": "maritime_crime",
        "sensitivity": "unclassified",
    },
]


# --- formatting (export) ------------------------------------------------------------------------------------


def _number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")  # no trailing zeros, never an exponent
    return str(value)


def _moment(value) -> str:
    if value is None:
        return ""
    return timezone.localtime(value, datetime.UTC).isoformat(timespec="seconds")


# The engagement's own columns and its report's, as ``values()`` names them.
ROW_FIELDS = {
    "reference": "reference",
    **{name: f"{name}__{REFERENCE_KEYS[name]}" if name in REFERENCE_KEYS else name for name in ENGAGEMENT_FIELDS},
    **{column: f"after_action__{field}" for column, field in AAR_COLUMNS.items()},
}


def _text(value) -> str:
    return "" if value is None else str(value)


def _formatter(model_field):
    """How a stored value of ``model_field`` is written in a cell."""
    if isinstance(model_field, models.DateTimeField):
        return _moment
    if isinstance(model_field, models.DateField):
        return lambda value: value.isoformat() if value else ""
    if isinstance(model_field, models.DecimalField):
        return _number
    if isinstance(model_field, models.JSONField):
        return lambda value: ";".join(value or [])
    return _text


_FORMATS = {
    **{column: _formatter(Engagement._meta.get_field(column)) for column in ENGAGEMENT_FIELDS},
    **{column: _formatter(AfterActionReport._meta.get_field(field)) for column, field in AAR_COLUMNS.items()},
    **dict.fromkeys(("reference", *REFERENCE_KEYS), _text),
}


def row_from_values(
    values: dict,
    *,
    organizations: Iterable[str],
    participants: Iterable[tuple[str, str, int]],
    extensions: dict[str, str] | None = None,
) -> list[str]:
    """The file's row from the engagement's values (keyed as in ``ROW_FIELDS``; the AAR's are None when
    there is no report), its organizations' acronyms, its participants as (iso3, role, personnel) and its
    extension columns' cells by name."""
    has_report = values["aar_summary"] is not None
    row = {
        **{
            column: _FORMATS[column](values[column]) for column in ROW_FIELDS if has_report or column not in AAR_COLUMNS
        },
        **dict.fromkeys(() if has_report else AAR_COLUMNS, ""),
        "organizations": ";".join(sorted(organizations)),
        "participants": ";".join(f"{iso3}:{role}:{personnel}" for iso3, role, personnel in sorted(participants)),
        **{name: (extensions or {}).get(name, "") for name in EXTENSION_COLUMNS},
    }
    return [row[column] for column in COLUMNS]


def export_rows(queryset, *, chunk_size: int = 2000) -> Iterator[list[str]]:
    """Rows for every engagement of ``queryset``, in its order: its ids are read in chunks, and each chunk's
    rows come from three plain-value queries (engagements, participants, organizations). Building model
    instances and prefetches instead took 80% of an export's time (3,200 rows/s on a million engagements)."""
    ids = queryset.values_list("pk", flat=True).iterator(chunk_size=chunk_size)
    while chunk := list(itertools.islice(ids, chunk_size)):
        rows = rows_by_id(chunk)
        yield from (rows[pk] for pk in chunk)


def rows_by_id(ids: list[int]) -> dict[int, list[str]]:
    """The file rows of these engagements by id, from three plain-value queries and one per extension column."""
    from engagements.extensions import file_extensions

    values = {
        row["pk"]: {column: row[name] for column, name in ROW_FIELDS.items()}
        for row in Engagement.objects.filter(pk__in=ids).values("pk", *ROW_FIELDS.values())
    }
    participants: dict[int, list] = {}
    for engagement_id, *participant in (
        Participation.objects.filter(engagement_id__in=ids)
        .values_list("engagement_id", "partner__iso3", "role", "personnel")
        .order_by()
    ):
        participants.setdefault(engagement_id, []).append(tuple(participant))
    organizations: dict[int, list] = {}
    for engagement_id, acronym in (
        Engagement.organizations.through.objects.filter(engagement_id__in=ids)
        .values_list("engagement_id", "organization__acronym")
        .order_by()
    ):
        organizations.setdefault(engagement_id, []).append(acronym)
    cells = {extension.name: extension.cells(list(values)) for extension in file_extensions()} if values else {}
    return {
        pk: row_from_values(
            found,
            organizations=organizations.get(pk, ()),
            participants=participants.get(pk, ()),
            extensions={name: by_id.get(pk, "") for name, by_id in cells.items()},
        )
        for pk, found in values.items()
    }


def xlsx_bytes(rows: Iterable[list[str]]) -> bytes:
    """An XLSX workbook of the header and ``rows``, written in constant memory (write-only mode)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("engagements")
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append([_xlsx_safe(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


EXPORT_KINDS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAX_ROWS = 1_048_575  # a worksheet's 1,048,576 rows, less the header


class ExportTooLarge(Exception):
    """The rows do not fit the asked format (more than an XLSX worksheet holds)."""


def export_response(queryset, kind: str):
    """The engagements of ``queryset`` as a file in the exchange format (``kind``: csv or xlsx), for the list
    page's export links and ``GET /api/v1/engagements/export/``: the file imports back unchanged.

    Raises ExportTooLarge, with a message saying to take CSV, for more rows than a worksheet holds:
    spreadsheet programs would cut the file short."""
    from django.http import HttpResponse

    from core.exports import csv_response

    if kind == "xlsx" and queryset.values("pk")[XLSX_MAX_ROWS : XLSX_MAX_ROWS + 1].exists():
        raise ExportTooLarge(
            _("More than %(n)s engagements match: an XLSX worksheet cannot hold them. Export CSV instead.")
            % {"n": f"{XLSX_MAX_ROWS:,}"}
        )
    if kind == "csv":
        return csv_response(filename="engagements.csv", header=COLUMNS, rows=export_rows(queryset))
    response = HttpResponse(xlsx_bytes(export_rows(queryset)), content_type=XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="engagements.xlsx"'
    return response


def _xlsx_safe(value: str) -> str:
    # Text, never a formula: a leading "=" would be evaluated by spreadsheet programs.
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "@") else value


def template_csv() -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in EXAMPLE_ROWS:
        writer.writerow({column: row.get(column, "") for column in COLUMNS})
    return buffer.getvalue()


# --- parsing (import) ---------------------------------------------------------------------------------------


class RowProblem(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def cell_text(value) -> str:
    """A cell as text: XLSX cells arrive as numbers and datetimes, CSV cells as strings."""
    if type(value) is str:  # every CSV cell: the quick way first
        text = value.strip()
        if text[:1] == "'" and text[1:2] in ("=", "+", "@", "-"):
            text = text[1:]
        return text
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat() if value.time() != datetime.time() or value.tzinfo else value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in ("=", "+", "@", "-"):
        text = text[1:]
    return text


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def parse_participants(text: str) -> list[dict]:
    participants = []
    for position, part in enumerate(split_list(text), start=1):
        pieces = [piece.strip() for piece in part.split(":")]
        if len(pieces) > 3 or not pieces[0]:
            raise RowProblem(
                "participants",
                _("Participant %(n)s “%(text)s” is not ISO3:role:personnel.") % {"n": position, "text": part},
            )
        row = {"partner": pieces[0]}
        if len(pieces) > 1 and pieces[1]:
            row["role"] = pieces[1]
        if len(pieces) > 2 and pieces[2]:
            row["personnel"] = pieces[2]
        participants.append(row)
    return participants


def service_input(row: dict[str, str]) -> dict:
    """A file row as the keyword arguments of the engagement services: every field, an empty cell being the
    field's default (planned, unclassified, no coordinates ...)."""
    empty = defaults(Engagement)
    data = {name: row.get(name) or empty[name] for name in ENGAGEMENT_FIELDS}
    data["threat_focus"] = split_list(row.get("threat_focus", ""))
    data["participants"] = parse_participants(row.get("participants", ""))
    data["organizations"] = split_list(row.get("organizations", ""))
    if not (row.get("owner_unit") or "").strip():
        del data["owner_unit"]  # new: the importer's unit (rules.default_owner_unit); existing: kept
    if "point_of_contact" not in row:
        del data["point_of_contact"]  # a file without the column leaves the points of contact alone
    if any(row.get(column) for column in AAR_COLUMNS):
        data["after_action"] = {field: row.get(column, "") for column, field in AAR_COLUMNS.items()}
    from engagements.extensions import file_extensions

    # An extension's column left out of the file leaves its values alone (new engagements: none).
    given = {
        extension.name: extension.read_cell(row[extension.name] or "")
        for extension in file_extensions()
        if extension.name in row
    }
    if given:
        data["extensions"] = given
    return data
