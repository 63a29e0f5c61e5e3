"""The calendar in a real browser: filtered by partner in the list's filter form, a multi-week engagement is
one bar per week row (not one item per day), a peacekeeping rotation sits in the long-mission lane, bars are
reached with the keyboard, and the subscription address is there to copy."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from engagements.services import engagement_create
from tests.e2e.conftest import axe_violations, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

D = datetime.date
TITLE = "Flintlock 2026"


@pytest.fixture
def busy_spring(make_user, reference_data):
    planner = make_user("planner-cal", "planner")

    def add(title, start, end, *partners, **extra):
        engagement_create(
            created_by=planner,
            title=title,
            engagement_type=extra.pop("engagement_type", "exercise"),
            domain="land",
            status=extra.pop("status", "planned"),
            start_date=start,
            end_date=end,
            host_country=partners[0],
            participants=[{"partner": code, "role": "host" if i == 0 else "participant"} for i, code in enumerate(partners)],
            **extra,
        )

    # Three weeks and a day: Wednesday 4 to Wednesday 25 March 2026, four week rows of the month grid.
    add(TITLE, D(2026, 3, 4), D(2026, 3, 25), "SEN", "USA", "GHA")
    add("MINUSMA rotation 14", D(2025, 11, 1), D(2026, 7, 31), "SEN", engagement_type="peacekeeping")
    add("Senegal staff talks", D(2026, 3, 10), D(2026, 3, 11), "SEN", "FRA", engagement_type="key_leader_engagement")
    add("Gulf of Guinea drill", D(2026, 3, 9), D(2026, 3, 13), "GHA", "NGA")
    add("Kenya medical exchange", D(2026, 3, 16), D(2026, 3, 20), "KEN", "USA")
    for n in range(4):
        add(f"Sahel advisory visit {n + 1}", D(2026, 3, 17), D(2026, 3, 18), "SEN", "NER")
    return planner


def test_calendar_filtered_by_partner_draws_a_multi_week_engagement_once(page, login, busy_spring):
    login("planner-cal")
    page.goto("/engagements/calendar/?month=2026-03")
    expect(page.get_by_role("heading", name="March 2026", exact=True)).to_be_visible()
    expect(page.locator(".cal-month").get_by_role("link", name="Gulf of Guinea drill")).to_have_count(1)

    page.get_by_label("Partner").select_option("SEN")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(lambda url: "partner=SEN" in url and "month=2026-03" in url)
    month = page.locator(".cal-month")
    expect(month.get_by_role("link", name="Gulf of Guinea drill")).to_have_count(0)  # Ghana and Nigeria only
    expect(month.get_by_role("link", name="Kenya medical exchange")).to_have_count(0)
    # Four week rows, four bars: drawn once across the days of each week, not in each of its 22 days.
    bars = month.get_by_role("link", name=re.compile(rf"^{TITLE}\s*,"))
    expect(bars).to_have_count(4)
    first_box, second_box = bars.nth(0).bounding_box(), bars.nth(1).bounding_box()
    day_width = second_box["width"] / 7  # the second week row: Monday to Sunday
    assert first_box["width"] == pytest.approx(day_width * 5, rel=0.08)  # Wednesday to Sunday
    # The rotation is in the long-mission lane above the grid, once, and not in the grid.
    lane = page.get_by_role("region", name=re.compile("Long missions"))
    expect(lane.get_by_role("link", name=re.compile(r"^MINUSMA rotation 14\s*,"))).to_have_count(1)
    expect(month.get_by_role("link", name=re.compile("MINUSMA"))).to_have_count(0)
    # Six engagements on 17 March, three lanes: "+N more" opens the list of that day, with the filter.
    more = month.get_by_role("link", name=re.compile(r"^\+\d+ more\s*· Tuesday 17 March 2026$"))
    expect(more).to_have_count(1)
    assert "partner=SEN" in more.get_attribute("href") and "start_before=2026-03-17" in more.get_attribute("href")

    # The keyboard reaches a bar, and Enter opens it.
    bars.first.focus()
    expect(bars.first).to_be_focused()
    assert axe_violations(page) == []
    screenshot(page, "calendar-month-filtered")  # artifacts/; docs/calendar.png in the README is a copy
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)

    # The week and timeline views keep the filter.
    page.go_back()
    page.get_by_role("link", name="Week", exact=True).click()
    page.wait_for_url(lambda url: "layout=week" in url and "partner=SEN" in url)
    screenshot(page, "calendar-week")
    page.get_by_role("link", name="Timeline", exact=True).click()
    page.wait_for_url(lambda url: "layout=timeline" in url and "partner=SEN" in url)
    timeline = page.get_by_role("table", name="Engagements on a timeline")
    expect(timeline.get_by_role("link", name=TITLE, exact=True)).to_have_count(1)
    expect(timeline.get_by_role("link", name="Gulf of Guinea drill")).to_have_count(0)
    page.get_by_role("link", name="one per partner").click()
    expect(timeline.get_by_role("rowheader", name=re.compile("Senegal"))).to_have_count(1)
    screenshot(page, "calendar-timeline-partners")

    # Subscribing: an address to create, then to copy.
    page.get_by_role("button", name="Create my feed address").click()
    address = page.get_by_label("Your feed address for this view")
    expect(address).to_have_value(re.compile(r"/engagements/calendar/feed/[\w-]+\.ics\?partner=SEN$"))
    assert page.js_errors == []
