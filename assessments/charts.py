"""The dashboards' charts as data: what the pages hand to static/js/dashboard.js (Chart.js) as JSON.

Kept apart from the views so a view only parses, calls and renders (CONVENTIONS.md, point 14).
"""

from __future__ import annotations

import math

from django.utils.translation import gettext as _

from assessments.choices import Component
from assessments.periods import quarter_display

# One colour per score line, the same on every chart: the Okabe-Ito palette, which stays distinguishable with
# the common colour-vision deficiencies (Activity blue and Continuity orange, never two oranges).
SCORE_COLOURS = {
    "overall": "#000000",
    Component.ACTIVITY: "#0072B2",
    Component.INTEROPERABILITY: "#009E73",
    Component.CAPACITY: "#CC79A7",
    Component.TRUST: "#56B4E9",
    Component.CONTINUITY: "#E69F00",
    Component.MULTILATERAL: "#D55E00",
    Component.OBJECTIVES: "#8C7A00",  # Okabe-Ito yellow darkened: #F0E442 is unreadable as a line on white
}


def _rounded(value):
    return None if value is None else round(value, 2)


def _colour(name) -> dict:
    colour = SCORE_COLOURS.get(name)
    return {"colour": colour} if colour else {}


def trend_chart(rows: list[dict], names: list[tuple[str, str]], *, full_scale: bool = True) -> dict:
    """A line chart of scores per quarter. The value axis always starts at 0 (a mean of many partners moves
    little, but an axis from 40 makes a step of 2 points look like a collapse); ``full_scale`` also ends it
    at 100, otherwise it ends just above the highest value."""
    return {
        "kind": "line",
        "labels": [quarter_display(row["quarter"]) for row in rows],
        "datasets": [
            {"label": str(label), "data": [_rounded(row[name]) for row in rows], **_colour(name)}
            for name, label in names
        ],
        "max": 100 if full_scale else None,
        "zero": True,
    }


def shared_maximum(rows: list[dict], names: list[str]) -> int:
    """The top of a shared value axis: the highest value among ``names`` rounded up to ten (10 to 100)."""
    values = [row[name] for row in rows for name in names if row.get(name) is not None]
    return min(100, max(10, math.ceil(max(values, default=0) / 10) * 10))


def component_multiples(rows: list[dict]) -> list[dict]:
    """The seven components over time as small multiples: one small line chart each, every one on the same
    value axis (0 to the highest component value rounded up to ten), so their heights compare."""
    top = shared_maximum(rows, list(Component.values))
    labels = [quarter_display(row["quarter"]) for row in rows]
    return [
        {
            "name": name,
            "title": str(label),
            "chart": {
                "kind": "line",
                "small": True,
                "labels": labels,
                "datasets": [{"label": str(label), "data": [_rounded(row[name]) for row in rows], **_colour(name)}],
                "max": top,
                "zero": True,
            },
        }
        for name, label in Component.choices
    ]


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
