"""Factories for engagements written straight to the database (for lists and query counts).

Tests of behaviour create engagements through the services or the API instead, so the rules apply.
"""

import datetime

import factory

from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation
from partners.models import PartnerNation


def partner(iso3: str) -> PartnerNation:
    return PartnerNation.objects.get(iso3=iso3)


class ExerciseSeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExerciseSeries
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Series {n}")
    slug = factory.Sequence(lambda n: f"series-{n}")


class EngagementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Engagement

    # A prefix of its own, so factory rows never take a number the reference counter hands out.
    reference = factory.Sequence(lambda n: f"FAC-{n:08d}")
    title = factory.Sequence(lambda n: f"Exercise {n}")
    engagement_type = "exercise"
    domain = "land"
    status = "planned"
    start_date = datetime.date(2025, 3, 1)
    end_date = datetime.date(2025, 3, 10)
    host_country = factory.LazyFunction(lambda: partner("FRA"))


class ParticipationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participation

    engagement = factory.SubFactory(EngagementFactory)
    partner = factory.LazyFunction(lambda: partner("USA"))
    role = "participant"
    personnel = 10


class AfterActionReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AfterActionReport

    engagement = factory.SubFactory(EngagementFactory, status="completed")
    summary = "Went as planned."
    interoperability_rating = 4
    capacity_rating = 3
    trust_rating = 5
    submitted_at = factory.LazyFunction(lambda: datetime.datetime(2025, 4, 1, tzinfo=datetime.UTC))
