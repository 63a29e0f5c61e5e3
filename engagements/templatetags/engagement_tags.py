"""Small pieces shared by the engagement pages: badges, the AAR timeliness cell, sortable column headers
and a small map centred on where the engagement took place."""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from engagements import selectors
from partners.maps import HEIGHT, WIDTH, country_shapes, project

register = template.Library()


@register.simple_tag
def select_options(choices, chosen) -> str:
    """A select's ``<option>``s, ``chosen`` selected: as a loop in the template would write them, without a
    template lookup per option (the filter form lists every country twice, 500 options on each list page)."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, _SELECTED if value == chosen else "", label) for value, label in choices),
    )


_SELECTED = mark_safe(" selected")  # noqa: S308 (a constant)


@register.simple_tag
def status_badge(engagement) -> str:
    return format_html(
        '<span class="badge badge-status-{}">{}</span>', engagement.status, engagement.get_status_display()
    )


@register.simple_tag
def sensitivity_badge(engagement) -> str:
    return format_html(
        '<span class="badge badge-{}">{}</span>', engagement.sensitivity, engagement.get_sensitivity_display()
    )


@register.simple_tag
def aar_timeliness(engagement, today=None) -> str:
    """A short badge: "AAR +12 d" (in on time), "AAR +45 d" (late), "AAR overdue 80 d", "AAR due ≤ 9 d", or a
    dash; the title says it in full."""
    state = selectors.aar_timeliness(engagement, today=today)
    if state is None:
        return mark_safe('<span class="muted">—</span>')  # noqa: S308 (a constant)
    days = state["days"]
    if state["state"] == "submitted":
        text = _("AAR %(sign)s%(n)s d") % {"sign": "−" if days < 0 else "+", "n": abs(days)}
        if days < 0:
            title = ngettext(
                "After-action report submitted %(n)s day before the end",
                "After-action report submitted %(n)s days before the end",
                -days,
            ) % {"n": -days}
        elif state["late"]:
            title = ngettext(
                "After-action report submitted %(n)s day after the end (more than 30 days: late)",
                "After-action report submitted %(n)s days after the end (more than 30 days: late)",
                days,
            ) % {"n": days}
        else:
            title = ngettext(
                "After-action report submitted %(n)s day after the end",
                "After-action report submitted %(n)s days after the end",
                days,
            ) % {"n": days}
        css = "badge-late" if state["late"] else "badge-ontime"
        return format_html('<span class="badge {}" title="{}">{}</span>', css, title, text)
    if state["state"] == "overdue":
        text = _("AAR overdue %(n)s d") % {"n": days}
        title = ngettext(
            "Completed %(n)s day ago without an after-action report (due within 30 days)",
            "Completed %(n)s days ago without an after-action report (due within 30 days)",
            days,
        ) % {"n": days}
        return format_html('<span class="badge badge-overdue" title="{}">{}</span>', title, text)
    text = _("AAR due ≤ %(n)s d") % {"n": days}
    title = _("The after-action report is due within 30 days of the end.")
    return format_html('<span class="badge badge-due" title="{}">{}</span>', title, text)


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str) -> str:
    """A column header that sorts by ``key``; a second click reverses; the other filters stay in the URL."""
    request = context["request"]
    current = (request.GET.get("ordering") or "").split(",")[0]
    params = request.GET.copy()
    params.pop("page", None)
    if current == key:
        params["ordering"] = f"-{key}"
        arrow, sort = "▲", "ascending"
    elif current == f"-{key}":
        params["ordering"] = key
        arrow, sort = "▼", "descending"
    else:
        params["ordering"] = key
        arrow, sort = "", "none"
    return format_html(
        '<th scope="col" aria-sort="{}"><a class="sort" href="?{}">{} <span aria-hidden="true">{}</span></a></th>',
        sort,
        params.urlencode(),
        label,
        arrow,
    )


@register.simple_tag(takes_context=True)
def with_query(context, **changes) -> str:
    """The current query string with ``changes`` applied (a value of None removes the key)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    return "?" + params.urlencode() if params else "?"


@lru_cache(maxsize=1)
def _land_layer() -> str:
    return "".join(f'<path class="land" d="{shape.path}"/>' for shape in country_shapes())


@lru_cache(maxsize=1)
def _paths_by_numeric() -> dict[str, str]:
    return {shape.iso_numeric: shape.path for shape in country_shapes() if shape.iso_numeric}


@register.simple_tag
def engagement_map(engagement, participants=(), width: float = 260.0) -> str:
    """A small map zoomed on the engagement: the host country highlighted, the other participants shaded,
    and a marker at the engagement's coordinates (or the host country's point when none were given)."""
    host = engagement.host_country
    if engagement.latitude is not None and engagement.longitude is not None:
        lat, lon, exact = float(engagement.latitude), float(engagement.longitude), True
    elif host.latitude is not None and host.longitude is not None:
        lat, lon, exact = host.latitude, host.longitude, False
    else:
        return ""
    x, y = project(lat, lon)
    height = width / 2
    left = min(max(x - width / 2, 0), WIDTH - width)
    top = min(max(y - height / 2, 0), HEIGHT - height)
    paths = _paths_by_numeric()
    others = format_html_join(
        "",
        '<path class="land participant" d="{}"><title>{}</title></path>',
        (
            (paths[p.partner.iso_numeric], p.partner.name)
            for p in participants
            if p.partner_id != host.pk and p.partner.iso_numeric in paths
        ),
    )
    host_shape = (
        format_html(
            '<path class="land highlighted" d="{}"><title>{}</title></path>', paths[host.iso_numeric], host.name
        )
        if host.iso_numeric in paths
        else ""
    )
    where = engagement.location_name or host.name
    label = (
        _("%(place)s at %(lat)s, %(lon)s")
        % {"place": where, "lat": number_format(lat, 3), "lon": number_format(lon, 3)}
        if exact
        else _("%(place)s (no coordinates given: the host country is shown)") % {"place": where}
    )
    return format_html(
        '<svg class="map map-zoomed" viewBox="{} {} {} {}" role="img" aria-label="{}"><title>{}</title>'
        '<rect class="sea" width="1000" height="500"/><g>{}</g><g>{}{}</g>'
        '<circle class="marker{}" cx="{}" cy="{}" r="{}"/></svg>',
        f"{left:.1f}",
        f"{top:.1f}",
        f"{width:.1f}",
        f"{height:.1f}",
        label,
        label,
        mark_safe(_land_layer()),  # noqa: S308 (built from our vendored, numeric-only path data)
        others,
        host_shape,
        " selected" if exact else "",
        x,
        y,
        f"{width / 110:.2f}",
    )
