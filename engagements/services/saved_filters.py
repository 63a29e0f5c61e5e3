"""Saved filters of the engagement list: create, change, delete (the pages and the API call these)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from engagements import rules
from engagements.models import SavedFilter
from engagements.services.inputs import Problems, clean_value

UNSET = object()


def saved_filter_query_clean(query, add) -> str:
    """The list's query string as it will be saved, or problems given to ``add``: only the list's own
    parameters, each valid for the list's filterset (the same messages as the list shows)."""
    from engagements.filtersets import EngagementFilterSet  # the list's filters are the reference

    text = str(query or "").strip().lstrip("?")
    params = QueryDict(text, mutable=True)
    for key in rules.SAVED_FILTER_DROPPED:
        params.pop(key, None)
    known = set(EngagementFilterSet.base_filters) | set(rules.SAVED_FILTER_KEPT)
    unknown = sorted(key for key in params if key not in known)
    if unknown:
        add(_("Not a filter of the engagement list: %(names)s.") % {"names": ", ".join(unknown)})
        return ""
    for key in list(params):
        values = [value for value in params.getlist(key) if value.strip()]
        if values:
            params.setlist(key, values)
        else:
            del params[key]
    if not params:
        add(_("Choose a filter, a view, a search or an order first: there is nothing to save."))
        return ""
    filterset = EngagementFilterSet(params, queryset=SavedFilter.objects.none())
    if not filterset.is_valid():
        for name, messages in filterset.errors.items():
            label = filterset.form.fields[name].label if name in filterset.form.fields else name
            for message in messages:
                add(f"{label}: {message}")
        return ""
    text = params.urlencode()
    if len(text) > SavedFilter._meta.get_field("query").max_length:
        add(_("Too many filters to save (at most 2,000 characters)."))
    return text


def _clean(*, owner, name, query, shared, saved_filter=None) -> dict:
    problems = Problems()
    values = {}
    if name is not UNSET:
        name = clean_value(SavedFilter, "name", str(name or "").strip(), lambda m: problems.add("name", m))
        if not name and "name" not in problems.fields:
            problems.add("name", _("This field is required."))
        others = SavedFilter.objects.filter(owner=owner, name__iexact=name or "")
        if saved_filter is not None:
            others = others.exclude(pk=saved_filter.pk)
        if name and others.exists():
            problems.add("name", _("You already have a saved filter with this name."))
        values["name"] = name
    if query is not UNSET:
        values["query"] = saved_filter_query_clean(query, lambda m: problems.add("query", m))
    if shared is not UNSET:
        values["shared"] = bool(shared)
    problems.raise_if_any()
    return values


@transaction.atomic
def saved_filter_create(*, owner, name: str, query: str, shared: bool = False) -> SavedFilter:
    """Save the engagement list's current filters under a name for ``owner`` (everybody's when ``shared``)."""
    values = _clean(owner=owner, name=name, query=query, shared=shared)
    return SavedFilter.objects.create(owner=owner, **values)


@transaction.atomic
def saved_filter_update(*, saved_filter: SavedFilter, user, name=UNSET, query=UNSET, shared=UNSET) -> SavedFilter:
    """Rename, change or (un)share a saved filter: its owner only (``rules.may_change_saved_filter``)."""
    if not rules.may_change_saved_filter(user, saved_filter):
        raise PermissionDenied(_("Only its owner may change a saved filter."))
    values = _clean(owner=saved_filter.owner, name=name, query=query, shared=shared, saved_filter=saved_filter)
    for key, value in values.items():
        setattr(saved_filter, key, value)
    saved_filter.save()
    return saved_filter


@transaction.atomic
def saved_filter_delete(*, saved_filter: SavedFilter, user) -> None:
    if not rules.may_change_saved_filter(user, saved_filter):
        raise PermissionDenied(_("Only its owner may delete a saved filter."))
    saved_filter.delete()
