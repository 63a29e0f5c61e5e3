"""Factories for engagement test data that bypass the services: for reads, pages and large data sets.
Tests of writes go through the services or the pages."""

import datetime

import factory
from django.conf import settings
from django.utils import timezone

from core.models import Unit
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation
from engagements.services.shape import engagement_shape_write
from partners.models import PartnerNation


def partner(iso3: str) -> PartnerNation:
    return PartnerNation.objects.get(iso3=iso3)


def default_unit() -> Unit:
    """The unit the migrations create (settings.DEFAULT_UNIT_CODE); made again after a flush."""
    return Unit.objects.get_or_create(code=settings.DEFAULT_UNIT_CODE, defaults={"name": settings.DEFAULT_UNIT_NAME})[0]


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"UNIT-{n}")
    name = factory.LazyAttribute(lambda o: f"Unit {o.code}")


class ExerciseSeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExerciseSeries
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Series {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))


class EngagementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Engagement

    reference = factory.Sequence(lambda n: f"ENG-2099-{n:06d}")
    title = factory.Sequence(lambda n: f"Engagement {n}")
    engagement_type = "exercise"
    domain = "land"
    status = "planned"
    start_date = datetime.date(2025, 3, 1)
    end_date = factory.LazyAttribute(lambda o: o.start_date + datetime.timedelta(days=9))
    host_country = factory.LazyFunction(lambda: partner("FRA"))
    sensitivity = "unclassified"
    owner_unit = factory.LazyFunction(default_unit)


class ParticipationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participation
        skip_postgeneration_save = True  # the hook below writes the engagement, not the participation

    engagement = factory.SubFactory(EngagementFactory)
    partner = factory.LazyFunction(lambda: partner("USA"))
    role = "participant"
    personnel = 100

    @factory.post_generation
    def shape(obj, create, extracted, **kwargs):
        """The engagement's stored number of partners, as the services keep it (engagements.services.shape)."""
        if create:
            engagement_shape_write(obj.engagement)


class AfterActionReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AfterActionReport
        skip_postgeneration_save = True  # the hook below writes the engagement, not the report

    engagement = factory.SubFactory(EngagementFactory, status="completed")
    summary = "Went well."
    interoperability_rating = 3
    capacity_rating = 3
    trust_rating = 3
    submitted_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def shape(obj, create, extracted, **kwargs):
        """The engagement's stored ratings, as the services keep them (engagements.services.shape)."""
        if create:
            engagement_shape_write(obj.engagement)


def approve(engagement: Engagement, *, comment: str = "") -> Engagement:
    """Approve ``engagement`` as a real approval does (four eyes): through the service, by an approver of its
    unit who did not create it. A planner's new engagement starts planned (rules.creation_status_refusal),
    so tests that need an approved one create it planned and approve it here."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from engagements import services

    approver = get_user_model().objects.get_or_create(username="test-approver")[0]
    approver.groups.add(Group.objects.get(name="approver"))
    engagement.owner_unit.members.add(approver)
    services.engagement_approve(engagement=engagement, user=approver, comment=comment)
    engagement.refresh_from_db()
    return engagement
