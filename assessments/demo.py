"""Demo objectives for `make run`: for the partners with most engagements, two objectives each with an
indicator measured quarterly, and links from their engagements to the objectives they served (the first
objective served recently, the second only years ago, so the partner page shows an unserved objective).

Written in bulk like the demo engagements (``generate_demo_data``): going through the services would queue
a scoring run per measurement; ``compute_scores`` runs after this step and includes them.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from assessments.choices import LineOfEffort
from assessments.models import EngagementObjective, Indicator, Measurement, Objective
from engagements.choices import Status
from engagements.models import Engagement
from partners.models import PartnerNation

PARTNERS = 6
LINKS_PER_OBJECTIVE = 12


@transaction.atomic
def demo_objectives_ensure() -> int:
    """Create the demo objectives and links unless some link exists already. Returns the links made."""
    if EngagementObjective.objects.exists():
        return 0
    today = timezone.localdate()
    partners = list(
        PartnerNation.objects.annotate(n=Count("participations")).filter(n__gt=0).order_by("-n", "iso3")[:PARTNERS]
    )
    links = []
    for index, partner in enumerate(partners):
        plans = [
            (LineOfEffort.INTEROPERABILITY, f"Interoperable staff procedures with {partner.name}", 0, 3 * 365),
            (LineOfEffort.CAPACITY_BUILDING, f"{partner.name}: a self-sustaining training cadre", 3 * 365, 8 * 365),
        ]
        for line, title, newest_days, oldest_days in plans:
            objective, _created = Objective.objects.get_or_create(
                partner=partner,
                title=title,
                defaults={"line_of_effort": line, "target_date": today.replace(year=today.year + 2)},
            )
            indicator, _created = Indicator.objects.get_or_create(
                objective=objective,
                name="Trained units certified",
                defaults={
                    "unit": "units",
                    "baseline_value": 1,
                    "target_value": 12,
                    "baseline_date": today.replace(year=today.year - 3),
                },
            )
            if not indicator.measurements.exists():
                Measurement.objects.bulk_create(
                    Measurement(
                        indicator=indicator,
                        date=today - datetime.timedelta(days=91 * quarter),
                        value=min(12, 1 + (12 - quarter) * (index % 3 + 1) / 3),
                        source="Demo data",
                    )
                    for quarter in range(12, 0, -1)
                )
            served = (
                Engagement.objects.live()
                .filter(
                    participations__partner=partner,
                    status__in=[Status.COMPLETED, Status.IN_PROGRESS],
                    end_date__lte=today - datetime.timedelta(days=newest_days),
                    end_date__gte=today - datetime.timedelta(days=oldest_days),
                )
                .order_by("-end_date")
                .values_list("pk", flat=True)[: LINKS_PER_OBJECTIVE * 3 : 3]
            )
            links += [EngagementObjective(engagement_id=pk, objective=objective) for pk in served]
    EngagementObjective.objects.bulk_create(links, ignore_conflicts=True)
    return len(links)
