"""Who the load benchmarks act as: the users they create and the engagements the planners save. One
definition for `bench/load.py`'s setup (run by `manage.py shell` from the project's folder) and
`bench/saves.py` (in its own process), so that the saves profiled are the ones the mixed load makes."""

from __future__ import annotations

import datetime


def bench_user(name: str, role: str):
    """The user ``name`` (created when missing), in the role group ``role`` only."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username=name)
    user.groups.set([Group.objects.get(name=role)])
    return user


def planners_for(count: int) -> list:
    """``count`` pairs (planner, engagement): the most recently ended completed, unclassified engagements with
    partners of the last two years, each with a planner ``bench-load-planner-N`` of its owning unit."""
    from core.models import Unit
    from engagements.models import Engagement

    since = datetime.date.today() - datetime.timedelta(days=730)
    engagements = list(
        Engagement.objects.live()
        .filter(status="completed", end_date__gte=since, sensitivity="unclassified")
        .exclude(participations=None)
        .order_by("-end_date", "-pk")[:count]
    )
    pairs = []
    for number, engagement in enumerate(engagements):
        planner = bench_user(f"bench-load-planner-{number}", "planner")
        Unit.objects.get(pk=engagement.owner_unit_id).members.add(planner)
        pairs.append((planner, engagement))
    return pairs
