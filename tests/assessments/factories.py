"""Factories for assessment tests. Engagements are written directly (not through the services) so a test
sets exactly the dates, statuses and ratings its hand computation needs."""

from __future__ import annotations

import datetime

import factory

from assessments.models import Indicator, Measurement, Objective
from engagements.models import Engagement, Participation
from engagements.services.shape import engagement_shape_write
from organizations.models import Organization
from tests.engagements import factories as engagement_factories
from tests.engagements.factories import AfterActionReportFactory, partner


class EngagementFactory(engagement_factories.EngagementFactory):
    """The engagement factory with the scoring tests' defaults: completed, in January 2024, in Kenya."""

    status = "completed"
    start_date = datetime.date(2024, 1, 1)
    end_date = datetime.date(2024, 1, 10)
    host_country = factory.LazyFunction(lambda: partner("KEN"))


class ObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objective

    partner = factory.LazyFunction(lambda: partner("KEN"))
    line_of_effort = "maritime_security"
    title = factory.Sequence(lambda n: f"Objective {n}")


class IndicatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Indicator

    objective = factory.SubFactory(ObjectiveFactory)
    name = factory.Sequence(lambda n: f"Indicator {n}")
    unit = "%"
    baseline_value = 0.0
    target_value = 100.0


class MeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measurement

    indicator = factory.SubFactory(IndicatorFactory)
    date = datetime.date(2024, 6, 30)
    value = 50.0


def make_engagement(
    partners: list[str],
    start: datetime.date,
    end: datetime.date,
    *,
    status: str = "completed",
    ratings: tuple[int, int, int] | None = None,
    organizations: list[str] = (),
    **extra,
) -> Engagement:
    """An engagement with these participants (ISO alpha-3), optionally an AAR (interop, capacity, trust)."""
    engagement = EngagementFactory(start_date=start, end_date=end, status=status, **extra)
    Participation.objects.bulk_create(
        [Participation(engagement=engagement, partner=partner(code)) for code in partners]
    )
    if organizations:
        engagement.organizations.set(Organization.objects.filter(acronym__in=organizations))
    engagement_shape_write(engagement)  # what the services keep on the row (engagements.services.shape)
    if ratings:
        AfterActionReportFactory(
            engagement=engagement,
            interoperability_rating=ratings[0],
            capacity_rating=ratings[1],
            trust_rating=ratings[2],
        )
    return engagement
