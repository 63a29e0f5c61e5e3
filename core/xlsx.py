"""Reading an uploaded XLSX workbook safely: bounded memory and time, and every failure a clear message.

An XLSX file is a zip of XML parts, and both layers can be hostile: a 511 KB file that unzips to ten
million shared strings, a sheet claiming a million rows of 16,384 columns, an unclosed tag, an XML entity
bomb. ``sheet_rows`` checks the workbook before openpyxl reads it and while it does:

1. The zip's directory: at most ``MAX_MEMBERS`` members, whose declared sizes (which zipfile enforces
   while inflating) add up to at most ``settings.XLSX_MAX_UNCOMPRESSED_BYTES``.
2. Only the worksheets and the shared strings may be large, because openpyxl reads them as a stream;
   any other part may be parsed whole and must stay under ``WHOLE_PART_MAX_BYTES`` (all of them together
   under ``WHOLE_PARTS_MAX_BYTES``).
3. The large parts are scanned first with a streaming parser (defusedxml: no entities, no DTD, no
   external references) that keeps nothing: at most ``settings.XLSX_MAX_SHARED_STRINGS`` shared strings,
   at most ``settings.XLSX_MAX_CELLS`` cells (rows x columns, counted as used and as the sheet's
   ``<dimension>`` claims them), no row wider than a worksheet, and few elements outside the rows.
4. openpyxl then reads the first worksheet in read-only mode; it parses with defusedxml too (checked).

Whatever goes wrong is an ``UnreadableWorkbook`` with a sentence for the user.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from typing import IO
from xml.sax import SAXException
from xml.sax.handler import ContentHandler

import defusedxml.ElementTree
import defusedxml.sax
import openpyxl
from defusedxml import DefusedXmlException
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _

MAX_MEMBERS = 1000
WHOLE_PART_MAX_BYTES = 4 * 1024 * 1024
WHOLE_PARTS_MAX_BYTES = 16 * 1024 * 1024
MAX_COLUMNS = 16_384  # a worksheet's width (XFD)
MAX_ELEMENTS_PER_CELL = 8  # <c>, <v>, <f>, <is>, <t>, rich-text runs ...
MAX_ELEMENTS_OUTSIDE_ROWS = 100_000
MAX_ELEMENTS_PER_STRING = 10_000

CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
}
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
STREAMED_RELATIONSHIPS = ("/worksheet", "/sharedStrings")
CELL_REFERENCE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


class UnreadableWorkbook(Exception):
    """The file is not an XLSX workbook this application can read; the message says why."""


def sheet_rows(handle: IO[bytes]) -> Iterator[tuple]:
    """The values of the first worksheet's rows, checked as the module says. Raises UnreadableWorkbook."""
    if not openpyxl.DEFUSEDXML:
        raise ImproperlyConfigured(
            "openpyxl must parse with defusedxml: install it and leave OPENPYXL_DEFUSEDXML unset."
        )
    check_workbook(handle)
    handle.seek(0)
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises all kinds on a malformed part: each is a bad file
        raise _unreadable(exc) from exc
    try:
        if not workbook.worksheets:
            raise UnreadableWorkbook(_("The workbook has no worksheet."))
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                raise _unreadable(exc) from exc
            yield row
    finally:
        workbook.close()


def _unreadable(exc: Exception) -> UnreadableWorkbook:
    if isinstance(exc, UnreadableWorkbook):
        return exc
    return UnreadableWorkbook(_("The file is not a readable XLSX workbook."))


def check_workbook(handle: IO[bytes]) -> None:
    """Every check short of reading the cells (steps 1 to 3 of the module)."""
    handle.seek(0)
    try:
        _check_directory_size(handle)
        with zipfile.ZipFile(handle) as archive:
            members = {info.filename: info for info in archive.infolist()}
            _check_sizes(members)
            for name, kind in _streamed_parts(archive, members).items():
                if name in members:
                    _scan(archive, name, kind)
    except UnreadableWorkbook:
        raise
    except (SyntaxError, SAXException, DefusedXmlException) as exc:  # ParseError is a SyntaxError
        raise UnreadableWorkbook(_("The XLSX file is damaged: its XML cannot be read.")) from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, ValueError) as exc:
        raise UnreadableWorkbook(_("The file is not a readable XLSX workbook.")) from exc


def _check_directory_size(handle: IO[bytes]) -> None:
    """The member count from the end-of-directory record, before zipfile reads every entry into memory."""
    record = zipfile._EndRecData(handle)  # noqa: SLF001 (the standard library's own reader of that record)
    if record is None:
        raise UnreadableWorkbook(_("The file is not a readable XLSX workbook."))
    if record[zipfile._ECD_ENTRIES_TOTAL] > MAX_MEMBERS:  # noqa: SLF001
        raise UnreadableWorkbook(
            _("The XLSX file holds more than %(count)s parts: it is not a workbook this application reads.")
            % {"count": number_format(MAX_MEMBERS, force_grouping=True)}
        )


def _too_large(what: str, limit: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(
        _("The XLSX file is too large once unpacked: %(what)s (the limit is %(limit)s). Split it or save it as CSV.")
        % {"what": what, "limit": limit}
    )


def _check_sizes(members: dict[str, zipfile.ZipInfo]) -> None:
    total = sum(info.file_size for info in members.values())
    if total > settings.XLSX_MAX_UNCOMPRESSED_BYTES:
        raise _too_large(
            _("it unpacks to %(size)s") % {"size": filesizeformat(total)},
            filesizeformat(settings.XLSX_MAX_UNCOMPRESSED_BYTES),
        )


def _part_types(archive: zipfile.ZipFile, members) -> tuple[str, dict[str, str]]:
    """The workbook part and the declared content type of each part, from [Content_Types].xml."""
    if CONTENT_TYPES not in members or members[CONTENT_TYPES].file_size > WHOLE_PART_MAX_BYTES:
        raise UnreadableWorkbook(_("The file is not a readable XLSX workbook."))
    root = defusedxml.ElementTree.fromstring(archive.read(CONTENT_TYPES), forbid_dtd=True)
    types: dict[str, str] = {}
    for override in root:
        if override.tag.rsplit("}", 1)[-1] != "Override":
            continue
        part = override.get("PartName", "").lstrip("/")
        if part in types:  # one part read two ways could be read whole where a stream was checked
            raise UnreadableWorkbook(_("The XLSX file is damaged: a part is declared twice."))
        types[part] = override.get("ContentType", "")
    workbook = next((part for part, kind in types.items() if kind in WORKBOOK_TYPES), "")
    return workbook, types


def _streamed_parts(archive: zipfile.ZipFile, members) -> dict[str, str]:
    """The parts openpyxl reads as a stream (worksheets, shared strings), by kind; the others must be small."""
    workbook, types = _part_types(archive, members)
    streamed = {
        part: kind
        for part, kind in types.items()
        if kind in (WORKSHEET_TYPE, SHARED_STRINGS_TYPE) and not part.endswith(".rels") and part != workbook
    }
    # A part that a relationship of another kind names would be parsed whole: it may not be large.
    rels = posixpath.join(posixpath.dirname(workbook), "_rels", posixpath.basename(workbook) + ".rels")
    if rels in members and members[rels].file_size <= WHOLE_PART_MAX_BYTES:
        for relationship in defusedxml.ElementTree.fromstring(archive.read(rels), forbid_dtd=True):
            target = relationship.get("Target", "")
            target = (
                target.lstrip("/") if target.startswith("/") else posixpath.join(posixpath.dirname(workbook), target)
            )
            target = posixpath.normpath(target)
            if not relationship.get("Type", "").endswith(STREAMED_RELATIONSHIPS):
                streamed.pop(target, None)
    whole = 0
    for name, info in members.items():
        if name in streamed:  # any other part may be read whole, whatever its name says
            continue
        whole += info.file_size
        if info.file_size > WHOLE_PART_MAX_BYTES or whole > WHOLE_PARTS_MAX_BYTES:
            raise _too_large(
                _("the part %(name)s is %(size)s") % {"name": name, "size": filesizeformat(info.file_size)},
                filesizeformat(WHOLE_PART_MAX_BYTES),
            )
    return streamed


def _scan(archive: zipfile.ZipFile, name: str, kind: str) -> None:
    handler = SharedStringsScan() if kind == SHARED_STRINGS_TYPE else WorksheetScan()
    with archive.open(name) as source:
        defusedxml.sax.parse(source, handler, forbid_dtd=True)


class _Scan(ContentHandler):
    """Counts as the parser goes and keeps nothing; raises UnreadableWorkbook at the first limit passed."""

    root_name = ""

    def __init__(self):
        super().__init__()
        self.depth = 0

    def startElement(self, name, attrs):  # noqa: N802 (SAX's name)
        self.depth += 1
        if self.depth == 1 and name.rsplit(":", 1)[-1] != self.root_name:
            raise UnreadableWorkbook(_("The XLSX file is damaged: a part is not what it claims to be."))

    def endElement(self, name):  # noqa: N802
        self.depth -= 1


class SharedStringsScan(_Scan):
    root_name = "sst"

    def __init__(self):
        super().__init__()
        self.strings = 0
        self.elements_in_string = 0
        self.elements_outside = 0

    def startElement(self, name, attrs):  # noqa: N802
        super().startElement(name, attrs)
        if name.rsplit(":", 1)[-1] == "si":  # openpyxl takes one string from each, at any depth
            self.strings += 1
            self.elements_in_string = 0
            if self.strings > settings.XLSX_MAX_SHARED_STRINGS:
                raise _too_large(
                    _("more than %(count)s shared strings")
                    % {"count": number_format(settings.XLSX_MAX_SHARED_STRINGS, force_grouping=True)},
                    number_format(settings.XLSX_MAX_SHARED_STRINGS, force_grouping=True),
                )
        elif self.depth > 2:
            self.elements_in_string += 1
            if self.elements_in_string > MAX_ELEMENTS_PER_STRING:
                raise UnreadableWorkbook(_("The XLSX file is damaged: a shared string is not text."))
        elif self.depth == 2:
            self.elements_outside += 1
            if self.elements_outside > MAX_ELEMENTS_OUTSIDE_ROWS:
                raise UnreadableWorkbook(_("The XLSX file is damaged: its shared strings hold other content."))


def _cell_position(reference: str) -> tuple[int, int] | None:
    """(row, column) of an A1 reference; None when it is not one."""
    match = CELL_REFERENCE.match(reference or "")
    if not match:
        return None
    column = 0
    for letter in match.group(1).upper():
        column = column * 26 + ord(letter) - ord("A") + 1
    return int(match.group(2)), column


class WorksheetScan(_Scan):
    """Cells counted as rows x columns: the sheet's claim (``<dimension>``) and what it holds."""

    root_name = "worksheet"

    def __init__(self):
        super().__init__()
        self.in_row = False
        self.row = 0
        self.row_elements = 0
        self.column = 0
        self.max_row = 0
        self.max_column = 0
        self.cells = 0
        self.elements_outside = 0

    def _check_cells(self, cells: int) -> None:
        if cells > settings.XLSX_MAX_CELLS:
            raise _too_large(
                _("%(count)s cells") % {"count": number_format(cells, force_grouping=True)},
                _("%(count)s cells") % {"count": number_format(settings.XLSX_MAX_CELLS, force_grouping=True)},
            )

    def startElement(self, name, attrs):  # noqa: N802
        super().startElement(name, attrs)
        local = name.rsplit(":", 1)[-1]
        if self.in_row:
            self.row_elements += 1
            if self.row_elements > MAX_COLUMNS * MAX_ELEMENTS_PER_CELL:
                raise UnreadableWorkbook(
                    _("The XLSX file is damaged: row %(row)s is wider than a worksheet.") % {"row": self.row}
                )
            if local == "c":
                position = _cell_position(attrs.get("r", ""))
                self.column = position[1] if position else self.column + 1
                if self.column > MAX_COLUMNS:
                    raise UnreadableWorkbook(
                        _("The XLSX file is damaged: row %(row)s is wider than a worksheet.") % {"row": self.row}
                    )
                self.cells += 1
                if self.column > self.max_column:
                    self.max_column = self.column
                    self._check_cells(self.max_row * self.max_column)
                self._check_cells(self.cells)
        elif local == "row":
            self.in_row = True
            self.row_elements = 0
            self.column = 0
            number = attrs.get("r", "")
            self.row = int(number) if number.isdigit() else self.row + 1
            if self.row > 1_048_576:
                raise UnreadableWorkbook(_("The XLSX file is damaged: it has more rows than a worksheet."))
            self.max_row = max(self.max_row, self.row)
            self._check_cells(self.max_row * max(self.max_column, 1))
        elif local == "dimension":
            self._check_claim(attrs.get("ref", ""))
        else:
            self.elements_outside += 1
            if self.elements_outside > MAX_ELEMENTS_OUTSIDE_ROWS:
                raise UnreadableWorkbook(_("The XLSX file is damaged: its worksheet holds too much besides cells."))

    def endElement(self, name):  # noqa: N802
        super().endElement(name)
        if name.rsplit(":", 1)[-1] == "row":
            self.in_row = False

    def _check_claim(self, reference: str) -> None:
        """openpyxl pads every row to the claimed width and yields every claimed row."""
        corners = [_cell_position(part) for part in reference.split(":")]
        if not corners or any(corner is None for corner in corners):
            return  # openpyxl ignores a claim it cannot read
        # openpyxl yields rows and columns from the first, whatever the claim's start.
        self._check_cells(max(c[0] for c in corners) * max(c[1] for c in corners))
