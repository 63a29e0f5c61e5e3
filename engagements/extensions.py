"""Fields of an engagement that an app above engagements owns, without engagements importing that app.

The assessments app links engagements to the objectives they serve: the link, its rule and its storage
are the assessments app's, yet a planner sets it on the engagement form and in the engagement API, and it
must be checked with every other problem of the input and saved in the same transaction. So the app
registers, in its ``AppConfig.ready()``, an ``EngagementExtension``: a named field with its form and API
field, and the steps the engagement services call (like ``core.panels`` for the home page)::

    engagement_extension_register(EngagementExtension(name="objectives", ...))

The services call ``clean`` with the other checks (its messages join the same 400, under ``name``) and
``apply`` inside their transaction, after the participants are written; forms and serializers add the
fields; list reads call ``prepare`` so a page of rows costs a fixed number of queries.

An extension that gives ``cells`` and ``read_cell`` is also a column of the exchange file (export and
import, ``engagements.exchange``), named after it: ``cells`` writes the column for many engagements in one
query, ``read_cell`` reads a cell as the value ``clean`` takes (so a file is checked by the same rule as
the form and the API), ``to_cell`` writes a clean value as the cell export would write it (the import's
"unchanged" check), and ``apply_new`` writes the values of many new engagements at once (imports and the
bulk create, which write new engagements in bulk). ``detail_template`` and ``detail_context`` add a panel
to the engagement's page (the objectives it serves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The value of an extension field a write did not give (an update that leaves it alone).
KEEP = object()


@dataclass(frozen=True)
class EngagementExtension:
    name: str
    # (*, value, engagement (None when creating), partner_ids (the participants' partner ids after the write;
    # None on an update that leaves the participants alone)) -> (clean value, list of messages); ``value``
    # is KEEP on an update that does not give it.
    clean: Callable[..., tuple[Any, list[str]]]
    # (*, engagement, value, user): write inside the service's transaction; ``value`` may be KEEP.
    apply: Callable[..., None]
    # () -> a django.forms field; (engagement) -> its initial value on the edit form
    form_field: Callable[[], Any]
    initial: Callable[[Any], Any]
    # () -> a DRF field whose representation reads what ``prepare`` loaded
    api_field: Callable[[], Any]
    # (queryset) -> the queryset with what ``represent``/``api_field`` read prefetched
    prepare: Callable[[Any], Any]
    # The exchange file's column (all four, or none): (engagement ids) -> {id: cell text}, in one query;
    # (cell text) -> the value ``clean`` takes; (clean value) -> the cell, None when it keeps the stored
    # one; (*, items: [(engagement, clean value)], user) -> write for new engagements, in bulk.
    cells: Callable[[list[int]], dict[int, str]] | None = None
    read_cell: Callable[[str], Any] | None = None
    to_cell: Callable[[Any], str | None] | None = None
    apply_new: Callable[..., None] | None = None

    # The engagement page's panel: a template and (*, engagement, user) -> its context (None: not shown).
    detail_template: str | None = None
    detail_context: Callable[..., dict | None] | None = None

    @property
    def in_file(self) -> bool:
        return self.cells is not None


_EXTENSIONS: dict[str, EngagementExtension] = {}


def engagement_extension_register(extension: EngagementExtension) -> None:
    _EXTENSIONS[extension.name] = extension  # ready() may run more than once: the last wins
    if extension.in_file:
        from engagements import exchange

        exchange.column_add(extension.name)


def file_extensions() -> list[EngagementExtension]:
    """The extensions that are columns of the exchange file, in the order of its columns."""
    return [extension for extension in _EXTENSIONS.values() if extension.in_file]


def engagement_extensions() -> list[EngagementExtension]:
    return list(_EXTENSIONS.values())


def detail_panels(*, engagement, user) -> list[dict]:
    """The engagement page's panels from the extensions, each ``{"template", "context"}`` (as core.panels);
    the page is only shown to users who may read the engagement."""
    panels = []
    for extension in _EXTENSIONS.values():
        if extension.detail_template and extension.detail_context:
            context = extension.detail_context(engagement=engagement, user=user)
            if context is not None:
                panels.append({"template": extension.detail_template, "context": context})
    return panels


def prepare(queryset):
    """``queryset`` with what every extension's API field reads loaded in a fixed number of queries."""
    for extension in _EXTENSIONS.values():
        queryset = extension.prepare(queryset)
    return queryset


def clean_all(values: dict | None, *, engagement, partner_ids: set[int] | None, add) -> dict:
    """Every extension's clean value (KEEP for those not given on an update); problems go to ``add(name, message)``."""
    values = values or {}
    unknown = set(values) - set(_EXTENSIONS)
    if unknown:
        raise TypeError(f"Unknown engagement extension fields: {sorted(unknown)}")
    clean = {}
    for name, extension in _EXTENSIONS.items():
        given = values.get(name, KEEP if engagement is not None else None)
        value, messages = extension.clean(value=given, engagement=engagement, partner_ids=partner_ids)
        for message in messages:
            add(name, message)
        clean[name] = value
    return clean


def apply_all(clean: dict, *, engagement, user) -> None:
    for name, value in clean.items():
        _EXTENSIONS[name].apply(engagement=engagement, value=value, user=user)


def apply_new_all(items: list[tuple[Any, dict]], *, user) -> None:
    """Write every extension's clean value for many new engagements: ``items`` are (engagement, clean values),
    in bulk where the extension can (``apply_new``), else one by one."""
    for name, extension in _EXTENSIONS.items():
        values = [(engagement, clean[name]) for engagement, clean in items if clean.get(name) not in (None, KEEP)]
        if not values:
            continue
        if extension.apply_new is not None:
            extension.apply_new(items=values, user=user)
        else:
            for engagement, value in values:
                extension.apply(engagement=engagement, value=value, user=user)
