"""Filters shared by the apps' filter sets."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _


class StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or 1/0, yes/no); empty means "no filter". Anything else is an error the list shows
    beside the field (pages) or answers with a 400 (API), instead of being silently ignored."""

    widget = forms.TextInput  # NullBooleanSelect would turn an unknown value into "no filter" before cleaning
    TRUE = frozenset({"true", "1", "yes", "on"})
    FALSE = frozenset({"false", "0", "no", "off"})

    def to_python(self, value):
        if isinstance(value, bool):
            return value
        text = "" if value is None else str(value).strip().lower()
        if text in ("", "unknown"):
            return None
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(_("Write true or false."), code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class StableOrderingFilter(django_filters.OrderingFilter):
    """``?ordering=`` with a last key, the primary key in the first key's direction, so rows that tie keep
    one order from page to page (PostgreSQL may return ties in any order, and a page boundary between
    them would repeat one row and skip another). An empty choice (``ordering=,``) keeps the list's own
    order instead of leaving the rows unordered. Several keys may be given repeated or comma-separated
    (``ordering=status&ordering=-date`` = ``ordering=status,-date``)."""

    multi_value = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", OrderingWidget)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        params = [param for param in value or () if param and param.strip()]
        if not params:
            return qs
        ordering = [self.get_ordering_value(param) for param in params]
        return qs.order_by(*ordering, "-pk" if ordering[0].startswith("-") else "pk")


# --- one multi-value convention ---------------------------------------------------------------------------
# A list filter takes its values repeated (``partner=GHA&partner=SEN``, what generated clients send) or
# comma-separated (``partner=GHA,SEN``), and both at once; ``ordering`` takes several keys the same way.

MULTI_VALUE_NOTE = _("Several values: repeat the parameter or separate them with commas.")


def values_of(data, name: str) -> list[str]:
    """Every value given for ``name``, repeated or comma-separated, stripped, without empty ones."""
    if hasattr(data, "getlist"):
        raw = data.getlist(name)
    else:
        raw = data.get(name)
        raw = raw if isinstance(raw, (list, tuple)) else [] if raw is None else [raw]
    return [part.strip() for item in raw for part in str(item).split(",") if part.strip()]


class MultiValueWidget(forms.SelectMultiple):
    def value_from_datadict(self, data, files, name):
        return values_of(data, name)


class MultiValueTextField(forms.Field):
    """A list of free-text values (codes, acronyms, region names)."""

    widget = MultiValueWidget

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        return [str(item).strip() for item in value if str(item).strip()]


class MultiValueFilterMixin:
    """Marks a filter as taking several values (read by the schema: an array, sent exploded)."""

    multi_value = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultiValueWidget)
        super().__init__(*args, **kwargs)


class MultiValueChoiceFilter(MultiValueFilterMixin, django_filters.MultipleChoiceFilter):
    """Values from a choice set; any of them matches."""


class MultiValueFilter(MultiValueFilterMixin, django_filters.MultipleChoiceFilter):
    """Free-text values; any of them matches (``field_name`` + ``lookup_expr``, or the filter's method, which
    receives the list)."""

    field_class = MultiValueTextField

    def is_noop(self, qs, value):
        return not value


class OrderingWidget(django_filters.widgets.BaseCSVWidget, forms.TextInput):
    def value_from_datadict(self, data, files, name):
        if name not in data:
            return None
        return values_of(data, name)
