import pytest
from django.core.management import call_command

from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation

pytestmark = pytest.mark.django_db


def test_demo_engagements_are_realistic_and_loaded_once(reference_data, make_user):
    make_user("planner", "planner")
    call_command("load_demo_engagements", verbosity=0)
    count = Engagement.objects.count()
    assert 250 <= count <= 500
    assert {"african-lion", "flintlock", "obangame-express", "baltops"} <= set(
        ExerciseSeries.objects.values_list("slug", flat=True)
    )
    years = {e.start_date.year for e in Engagement.objects.only("start_date")}
    assert min(years) == 2019 and max(years) == 2026
    assert Engagement.objects.filter(series__slug="baltops").count() >= 5
    assert Engagement.objects.filter(sensitivity="restricted").exists()
    assert AfterActionReport.objects.exists() and Participation.objects.count() > count
    assert not Engagement.objects.filter(participations__isnull=True).exists()
    first = Engagement.objects.order_by("start_date", "reference").first()
    assert first.reference == "ENG-2019-000001"
    assert first.history.get().history_user.username == "planner"
    # A second run changes nothing.
    call_command("load_demo_engagements", verbosity=0)
    assert Engagement.objects.count() == count
