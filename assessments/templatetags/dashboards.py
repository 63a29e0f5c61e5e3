"""Small helpers of the dashboard templates: query strings that keep the filters, sortable headers, scores."""

from __future__ import annotations

from django import template
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext

from assessments.periods import quarter_display

register = template.Library()

# Never carried from one view to the next: a CSV request, or the page of a list whose filters changed.
_TRANSIENT = ("export", "table")


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with ``changes`` applied (None or "" removes a key), always starting with ?."""
    params = context["request"].GET.copy()
    for key in _TRANSIENT:
        params.pop(key, None)
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = str(value)
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label, param: str = "ordering", current: str = "", numeric: bool = True) -> str:
    """A column header that sorts by ``key`` (descending first for numbers, like the score columns)."""
    params = context["request"].GET.copy()
    for name in (*_TRANSIENT, "page"):
        params.pop(name, None)
    if current == key:
        params[param], arrow, sort = f"-{key}", "▲", "ascending"
    elif current == f"-{key}":
        params[param], arrow, sort = key, "▼", "descending"
    else:
        params[param], arrow, sort = (f"-{key}" if numeric else key), "", "none"
    return format_html(
        '<th scope="col" class="{}" aria-sort="{}"><a class="sort" data-inplace href="?{}">{} <span aria-hidden="true">{}</span></a></th>',
        "num" if numeric else "",
        sort,
        params.urlencode(),
        label,
        arrow,
    )


@register.filter
def score(value) -> str:
    """A score with two decimals, or an em dash when there is nothing to judge it by."""
    if value is None or value == "":
        return "—"
    return number_format(value, 2)


@register.filter
def signed(value) -> str:
    """A change with its sign (+3.20, −12.05), or an em dash."""
    if value is None or value == "":
        return "—"
    text = number_format(abs(value), 2)
    if round(value, 2) > 0:
        return f"+{text}"
    if round(value, 2) < 0:
        return f"−{text}"
    return text


@register.filter
def item(mapping, key):
    """``mapping[key]`` in a template (None when missing)."""
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.filter
def percent(value) -> str:
    """A share as a percentage with one decimal, written the language's way (12.5% in English, 12,5 % in
    French), or an em dash."""
    if value is None:
        return "—"
    return gettext("%(value)s%%") % {"value": number_format(value * 100, 1)}


# --- confidence and provisional quarters (DESIGN.md, "Second edition": Scores) ------------------------------


def confidence_text(value: str) -> str:
    """``low`` -> "low confidence", as pages and badges say it."""
    texts = {
        "low": gettext("low confidence"),
        "medium": gettext("medium confidence"),
        "high": gettext("high confidence"),
    }
    return texts.get(value, value)


@register.filter
def confidence_label(value) -> str:
    return confidence_text(value)


@register.simple_tag
def confidence_counts(score_row) -> str:
    """What a score's confidence rests on, in words ("1 engagement counted, 0 with an after-action report")."""
    return ngettext(
        "%(engagements)s engagement counted, %(reports)s with an after-action report",
        "%(engagements)s engagements counted, %(reports)s with an after-action report",
        score_row.engagement_count,
    ) % {"engagements": score_row.engagement_count, "reports": score_row.report_count}


@register.simple_tag
def confidence_badge(score_row) -> str:
    """A score's confidence as a badge whose title gives the counts it rests on; empty without a score."""
    if score_row is None or not getattr(score_row, "confidence", ""):
        return ""
    title = confidence_counts(score_row)
    return format_html(
        '<span class="badge badge-confidence-{}" title="{}" data-confidence="{}">{}</span>',
        score_row.confidence,
        title,
        score_row.confidence,
        confidence_text(score_row.confidence),
    )


def provisional_text(quarter) -> str:
    """ "provisional: the quarter ends on 31 December 2026" (the date in the language's format)."""
    return gettext("provisional: the quarter ends on %(date)s") % {"date": date_format(quarter.end, "DATE_FORMAT")}


@register.simple_tag
def provisional_note(quarter) -> str:
    """A badge saying the quarter has not ended and when it does, for a quarter (or anything with
    ``quarter``) that is provisional; empty otherwise."""
    quarter = getattr(quarter, "quarter", quarter)
    if quarter is None or not quarter.is_provisional():
        return ""
    return format_html('<span class="badge badge-provisional">{}</span>', provisional_text(quarter))


@register.filter
def quarter_label(value) -> str:
    """A quarter as pages show it in the active language ("T4 2026", "2026-Q4"): ``quarter_display``.
    Only for text; links, form values and exports keep ``YYYY-Qn``."""
    return quarter_display(value)
