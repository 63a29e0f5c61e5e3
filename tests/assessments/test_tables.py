"""The partner page's long tables written in Python: the template filters' formats, escaping, hiding."""

from __future__ import annotations

import datetime
import re

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone, translation

from assessments.models import PartnerScore
from assessments.periods import Quarter
from assessments.tables import contribution_rows, date_formatter, history_rows

D = datetime.date


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("name", ["SHORT_DATE_FORMAT", "SHORT_DATETIME_FORMAT", "DATE_FORMAT"])
def test_dates_are_written_as_the_date_filter_writes_them(language, name):
    template = Template('{{ value|date:"' + name + '" }}')
    moments = [D(2024, 1, 5), D(2024, 12, 31)]
    if "DATETIME" in name:
        moments = [datetime.datetime(2024, 3, 9, 7, 5, 3), datetime.datetime(2024, 11, 30, 23, 59)]
    with translation.override(language):
        write = date_formatter(name)
        for moment in moments:
            assert write(moment) == template.render(Context({"value": moment})), (language, name, moment)
        assert write(None) == ""


def _engagement(**overrides):
    row = {
        "id": 7,
        "reference": "ENG-2024-000007",
        "title": "Obangame Express",
        "restricted": False,
        "start_date": D(2024, 3, 1),
        "end_date": D(2024, 3, 9),
        "role": "lead",
        "age_days": 297,
        "weight": 0.56789,
        "share_of_weight": 0.125,
        "participant_count": 5,
        "organizations": ["ECCAS", "ECOWAS"],
        "multilateral": True,
        "ratings": {"interoperability": 4, "capacity": 3, "trust": 5},
    }
    row.update(overrides)
    return row


def test_contribution_rows_carry_every_cell():
    html = contribution_rows([_engagement()], role_labels={"lead": "Lead"}, print_limit=12)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html)
    assert cells[0].startswith('<a href="/engagements/7/">ENG-2024-000007</a> Obangame Express')
    assert "multilateral" in cells[0]
    assert cells[1:] == ["2024-03-01 – 2024-03-09", "Lead", "297", "0.5679", "12.5%", "5", "ECCAS, ECOWAS", "4, 3, 5"]


def test_contribution_rows_escape_what_planners_typed():
    html = contribution_rows(
        [_engagement(title='<script>alert("x")</script>', organizations=["A&B"], role="<b>")],
        role_labels={},
        print_limit=12,
    )
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "A&amp;B" in html and "<td>&lt;b&gt;</td>" in html


def test_restricted_rows_are_flagged_and_late_rows_are_not_printed():
    """Rows are only what the reader may read (score_explanation leaves the rest out); restricted ones, shown
    to users who may read them, carry the badge."""
    rows = [_engagement(restricted=True, ratings=None, multilateral=False)]
    rows += [_engagement(id=n) for n in range(8, 11)]
    html = contribution_rows(rows, role_labels={"lead": "Lead"}, print_limit=2)
    first, second = html.split("\n")[:2]
    assert "badge-restricted" in first and "/engagements/7/" in first and "no report" in first
    assert "badge-restricted" not in second
    assert "multilateral" not in first
    assert [line.startswith('<tr class="print-hide">') for line in html.split("\n")] == [False, False, True, True]


def test_french_pages_get_french_numbers():
    with translation.override("fr"):
        html = contribution_rows([_engagement()], role_labels={"lead": "Chef de file"}, print_limit=12)
    assert "01/03/2024 – 09/03/2024" in html and "0,5679" in html and "12,5" in html


@pytest.mark.django_db
def test_history_rows_mark_the_quarter_shown_and_link_each_quarter(reference_data):
    from assessments.services import scoring_model_active
    from partners.models import PartnerNation

    model = scoring_model_active()
    ghana = PartnerNation.objects.get(iso3="GHA")
    scores = [
        PartnerScore(
            partner=ghana,
            period=q.start,
            period_end=q.end,
            scoring_model=model,
            overall=overall,
            activity=10,
            delta_overall=delta,
            engagement_count=3,
            computed_at=timezone.now(),
        )
        for q, overall, delta in [(Quarter(2024, 4), 40.0, -12.5), (Quarter(2024, 3), 52.5, None)]
    ]
    request = RequestFactory().get("/assessments/partners/GHA/", {"period": "2024-Q4", "export": "csv"})
    html = history_rows(scores, quarter=Quarter(2024, 4), request=request)
    newest, older = html.split("\n")
    assert newest.startswith('<tr class="selected">') and not older.startswith('<tr class="selected">')
    assert 'href="?period=2024-Q4"' in newest and 'href="?period=2024-Q3"' in older  # no export carried over
    assert '<td class="num drop">−12.50</td>' in newest and '<td class="num">—</td>' in older
    assert newest.count('<td class="num">') == 9 and f"v{model.version}" in newest
