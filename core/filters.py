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
    order instead of leaving the rows unordered."""

    def filter(self, qs, value):
        params = [param for param in value or () if param and param.strip()]
        if not params:
            return qs
        ordering = [self.get_ordering_value(param) for param in params]
        return qs.order_by(*ordering, "-pk" if ordering[0].startswith("-") else "pk")
