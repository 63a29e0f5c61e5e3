"""The partner page's long tables, written in Python: the same markup a template loop would give, in a
fraction of the time.

An active partner has hundreds of engagements in a score's window, all listed so that the score explains
itself, and up to forty quarters of history. Rendered by Django template loops these two tables took
most of the page's time on a million engagements (bench/README.md); here each row is one format_html
call, with the same escaping and the same localized formats as the template filters.
"""

from __future__ import annotations

from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, get_format
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from assessments.choices import COMPONENTS
from assessments.periods import quarter_display
from assessments.services.scoring import MULTILATERAL_MIN_PARTNERS
from assessments.templatetags.dashboards import confidence_badge, percent, provisional_note, query, score, signed

_MARKER = "8642097531"


def _url_maker(name: str):
    """``reverse(name, args=[pk])`` for many integer primary keys, resolving the pattern once."""
    pattern = reverse(name, args=[_MARKER])
    return lambda pk: pattern.replace(_MARKER, str(pk))


# Django date format characters that strftime writes the same way (numbers only, so no language enters).
_STRFTIME = {"d": "%d", "m": "%m", "Y": "%Y", "y": "%y", "H": "%H", "i": "%M", "s": "%S"}


def date_formatter(name: str):
    """A function writing dates in the active language's ``name`` format (``SHORT_DATE_FORMAT`` ...), as the
    ``date`` filter does: through strftime when the format only has numeric parts, else through Django."""
    fmt = get_format(name)
    if all(c in _STRFTIME or not c.isalpha() for c in fmt) and not any(c in fmt for c in "\\%"):
        pattern = "".join(_STRFTIME.get(c, c) for c in fmt)
        return lambda value: value.strftime(pattern) if value else ""
    return lambda value: date_format(value, name) if value else ""


def contribution_rows(engagements: list[dict], *, role_labels: dict, print_limit: int) -> SafeString:
    """The rows of "the engagements that contributed" (``score_explanation()["engagements"]``)."""
    restricted = format_html(' <span class="badge badge-restricted">{}</span>', gettext("Restricted"))
    multilateral = format_html(
        ' <span class="badge" title="{}">{}</span>',
        gettext("Counts as multilateral: %(n)d or more partners, or under an organization")
        % {"n": MULTILATERAL_MIN_PARTNERS},
        gettext("multilateral"),
    )
    no_report = format_html('<span class="muted">{}</span>', gettext("no report"))
    roles = {value: escape(label) for value, label in role_labels.items()}  # translated once, not per row
    detail = _url_maker("engagements:detail")
    short_date = date_formatter("SHORT_DATE_FORMAT")
    hide = ' class="print-hide"'
    rows = []
    # Plain f-strings: every text that comes from the data goes through escape(); numbers need none.
    for number, g in enumerate(engagements, start=1):
        # Only engagements the reader may read are rows; restricted ones are flagged for those who may.
        name = f'<a href="{detail(g["id"])}">{escape(g["reference"])}</a> {escape(g["title"])}'
        if g["restricted"]:
            name += restricted
        ratings = g["ratings"]
        rated = f"{ratings['interoperability']}, {ratings['capacity']}, {ratings['trust']}" if ratings else no_report
        rows.append(
            f"<tr{hide if number > print_limit else ''}>"
            f"<td>{name}{multilateral if g['multilateral'] else ''}</td>"
            f'<td class="date">{short_date(g["start_date"])} – {short_date(g["end_date"])}</td>'
            f"<td>{roles.get(g['role']) or escape(g['role'])}</td>"
            f'<td class="num">{int(g["age_days"])}</td>'
            f'<td class="num">{floatformat(g["weight"], 4)}</td>'
            f'<td class="num">{percent(g["share_of_weight"])}</td>'
            f'<td class="num">{int(g["participant_count"])}</td>'
            f"<td>{escape(', '.join(g['organizations'])) or '—'}</td>"
            f"<td>{rated}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 (built above from escaped parts)


def history_rows(history, *, quarter, request) -> SafeString:
    """The rows of a partner's score history (PartnerScore rows, newest first)."""
    context = {"request": request}
    run_label = gettext("run")
    short_datetime = date_formatter("SHORT_DATETIME_FORMAT")

    def cells(s):
        computed = s.computed_at
        if computed is not None and timezone.is_aware(computed):
            computed = timezone.localtime(computed)
        run = (
            format_html(' · <a href="{}">{}</a>', reverse("assessments:run", args=[s.run_id]), run_label)
            if s.run_id
            else ""
        )
        drop = s.delta_overall is not None and s.delta_overall <= -10
        return (
            mark_safe(' class="selected"') if s.quarter == quarter else "",
            query(context, period=s.period_label),
            quarter_display(s.quarter),
            score(s.overall),
            " drop" if drop else "",
            signed(s.delta_overall),
            format_html_join("", '<td class="num">{}</td>', ((score(getattr(s, name)),) for name in COMPONENTS)),
            s.engagement_count,
            confidence_badge(s),
            provisional_note(s),
            short_datetime(computed),
            run,
            s.scoring_model.version,
        )

    return format_html_join(
        "\n",
        '<tr{}><td><a data-inplace href="{}">{}</a></td><td class="num"><strong>{}</strong></td>'
        '<td class="num{}">{}</td>{}<td class="num">{}</td><td>{} {}</td><td class="nowrap">{}{} · v{}</td></tr>',
        (cells(s) for s in history),
    )


def network_pair_rows(network: dict) -> SafeString:
    """The cooperation network's pairs (``network.cooperation_network``'s edges): a region has a thousand
    of them, which a template loop took most of a second to write (bench/README.md, "Cooperation network").
    Each partner's cells and each quarter's label are escaped once; a row only puts them together."""
    partner_url = _url_maker("assessments:partner")
    compare = escape(reverse("assessments:compare"))
    last = escape(str(network["last"]))
    answers = {
        True: format_html('<span class="badge badge-first-time">{}</span>', gettext("first time")),
        False: escape(gettext("no")),
    }
    cells: dict = {}
    codes: dict = {}
    labels: dict = {}
    for edge in network["edges"]:
        for partner in (edge.partner, edge.other):
            if partner.pk not in cells:
                cells[partner.pk] = format_html('<td><a href="{}">{}</a></td>', partner_url(partner.iso3), partner.name)
                codes[partner.pk] = escape(partner.iso3)
        if edge.first_quarter not in labels:
            labels[edge.first_quarter] = escape(quarter_display(edge.first_quarter))
    rows = []
    for e in network["edges"]:
        a, b = codes[e.partner.pk], codes[e.other.pk]
        rows.append(
            f'<tr data-edge="{a}-{b}">{cells[e.partner.pk]}{cells[e.other.pk]}'
            f'<td class="num"><a href="{compare}?partners={a},{b}&amp;period={last}">{int(e.engagements)}</a></td>'
            f"<td>{labels[e.first_quarter]}</td><td>{answers[bool(e.first_time)]}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 (built above from escaped parts)
