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


_EXTENSIONS: dict[str, EngagementExtension] = {}


def engagement_extension_register(extension: EngagementExtension) -> None:
    _EXTENSIONS[extension.name] = extension  # ready() may run more than once: the last wins


def engagement_extensions() -> list[EngagementExtension]:
    return list(_EXTENSIONS.values())


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
