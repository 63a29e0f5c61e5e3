import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from engagements import demo
from engagements.models import AfterActionReport, Engagement, Participation
from organizations.models import Membership, Organization
from partners.models import PartnerNation

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 6, 30)


def test_same_seed_same_plan_and_another_seed_differs(reference_data):
    first, _ = demo.plan(engagements=400, years=5, seed=7, today=TODAY)
    again, _ = demo.plan(engagements=400, years=5, seed=7, today=TODAY)
    other, _ = demo.plan(engagements=400, years=5, seed=8, today=TODAY)
    assert first.engagements == again.engagements and first.participations == again.participations
    assert first.engagements != other.engagements


def test_generated_history_is_realistic_and_valid(planner, reference_data):
    summary = demo.generate(engagements=1500, years=6, seed=3, user=planner, today=TODAY)
    assert Engagement.objects.count() == summary.engagements == 1500
    assert Participation.objects.count() == summary.participations
    assert summary.declining_partners
    # Recurring series with many partners, once a year.
    baltops = Engagement.objects.filter(series__slug="baltops").annotate(n=Count("participations"))
    assert baltops.count() == 6 and min(e.n for e in baltops) >= 10
    # Bilateral activity with one or two partners dominates.
    sizes = Engagement.objects.annotate(n=Count("participations")).values_list("n", flat=True)
    assert sum(1 for n in sizes if n <= 2) > 0.7 * len(sizes)
    # Reports only for completed engagements, and for most of them.
    assert not AfterActionReport.objects.exclude(engagement__status="completed").exists()
    completed = Engagement.objects.filter(status="completed").count()
    assert AfterActionReport.objects.count() > 0.7 * completed
    assert Engagement.objects.filter(status__in=["planned", "approved"], start_date__gt=TODAY).exists()
    assert Engagement.objects.filter(sensitivity="restricted").exists()
    references = list(Engagement.objects.values_list("reference", flat=True))
    assert len(set(references)) == len(references)


def test_declining_partners_are_rated_lower_recently(reference_data):
    planned, world = demo.plan(engagements=4000, years=6, seed=11, today=TODAY)
    recent_cut = TODAY - datetime.timedelta(days=365)
    by_index = {r["index"]: r for r in planned.reports}
    partner_of = {}
    for index, pid, _role, _n in planned.participations:
        partner_of.setdefault(index, set()).add(pid)
    declining, others = [], []
    for index, report in by_index.items():
        if planned.engagements[index]["end_date"] < recent_cut:
            continue
        target = declining if partner_of[index] & world.declining else others
        target.append(report["trust_rating"])
    assert declining and others
    assert sum(declining) / len(declining) < sum(others) / len(others) - 0.5


def test_command_if_empty(reference_data, capsys):
    call_command("generate_demo_data", "--engagements", "50", "--years", "2", "--seed", "1")
    assert Engagement.objects.count() == 50
    call_command("generate_demo_data", "--engagements", "50", "--if-empty")
    assert Engagement.objects.count() == 50
    assert "exist already" in capsys.readouterr().out


def test_command_without_reference_data_says_what_to_run():
    # An empty database (no partners) gets a clear message instead of a traceback from deep in the world model.
    Membership.objects.all().delete()
    Organization.objects.update(parent=None)
    Organization.objects.all().delete()
    PartnerNation.objects.all().delete()
    with pytest.raises(CommandError, match="bootstrap_demo --no-demo"):
        call_command("generate_demo_data", "--engagements", "5", "--years", "1")
    assert not Engagement.objects.exists()
