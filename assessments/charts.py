"""The dashboards' charts as data: what the pages hand to static/js/charts.js (Chart.js) as JSON.

Kept apart from the views so a view only parses, calls and renders (CONVENTIONS.md, point 14).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from assessments.periods import quarter_display


def _rounded(value):
    return None if value is None else round(value, 2)


def trend_chart(rows: list[dict], names: list[tuple[str, str]], *, full_scale: bool = True) -> dict:
    """A line chart of scores per quarter; ``full_scale`` draws the whole 0-100 range, otherwise the axis
    fits the values (a mean of many partners moves little on a 0-100 axis)."""
    return {
        "kind": "line",
        "labels": [quarter_display(row["quarter"]) for row in rows],
        "datasets": [{"label": str(label), "data": [_rounded(row[name]) for row in rows]} for name, label in names],
        "max": 100 if full_scale else None,
        "zero": full_scale,
    }


def activity_chart(activity: dict) -> dict:
    """Counted engagements per quarter, stacked by engagement type."""
    return {
        "kind": "bar",
        "stacked": True,
        "labels": [quarter_display(label) for label in activity["quarters"]],
        "datasets": [{"label": s["label"], "data": s["counts"]} for s in activity["series"]],
    }


def comparison_chart(comparison: list[dict], *, partner_name: str, region: str) -> dict:
    """A partner's components beside its region's means, as horizontal bars."""
    return {
        "kind": "hbar",
        "labels": [str(row["label"]) for row in comparison],
        "datasets": [
            {"label": partner_name, "data": [_rounded(row["partner"]) for row in comparison]},
            {
                "label": _("Mean of %(region)s") % {"region": region or _("the region")},
                "data": [_rounded(row["region"]) for row in comparison],
            },
        ],
        "max": 100,
    }


def partners_trend_chart(comparison: dict) -> dict:
    """Compared partners' overall scores per quarter, one line each (``dashboard_selectors.partner_comparison``)."""
    rows = [
        {"quarter": q, **{row["partner"].iso3: row["trend"][i] for row in comparison["partners"]}}
        for i, q in enumerate(comparison["trend_quarters"])
    ]
    return trend_chart(rows, [(row["partner"].iso3, row["partner"].name) for row in comparison["partners"]])


def partners_components_chart(component_rows: list[dict], partners: list) -> dict:
    """Compared partners' overall score and components for one quarter, as horizontal bars, one colour each."""
    return {
        "kind": "hbar",
        "labels": [str(row["label"]) for row in component_rows],
        "datasets": [
            {"label": partner.name, "data": [_rounded(row["values"][i]) for row in component_rows]}
            for i, partner in enumerate(partners)
        ],
        "max": 100,
    }
