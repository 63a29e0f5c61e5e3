"""Keeps ``Engagement.search_names`` (engagements/search.py) true on every write path.

The services call ``engagement_search_refresh`` after writing an engagement's host, series or participants;
the bulk paths (import, demo generator) compute the names before inserting with ``search_names_builder``.
``refresh_search_names`` rewrites every engagement's names after the reference data changed (aliases).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from engagements.models import Engagement, ExerciseSeries, Participation
from engagements.search import names_document, partner_terms
from partners.models import PartnerNation


class SearchNamesBuilder:
    """The names document of engagements from ids: every country's and series' terms read once."""

    def __init__(self, *, partner_model=PartnerNation, series_model=ExerciseSeries):
        self.partners = {
            pk: partner_terms(name_key=key, iso3=iso3, iso2=iso2)
            for pk, key, iso3, iso2 in partner_model.objects.values_list("pk", "search_key", "iso3", "iso2")
        }
        self.series = dict(series_model.objects.values_list("pk", "name"))

    def __call__(self, *, series_id, host_id, participant_ids: Iterable[int] = ()) -> str:
        return names_document(
            series_name=self.series.get(series_id, "") if series_id else "",
            partners_terms=[self.partners.get(pid, "") for pid in (host_id, *participant_ids) if pid],
        )


def search_names_builder() -> SearchNamesBuilder:
    return SearchNamesBuilder()


def engagement_search_refresh(*, engagement_ids: Iterable[int] | None = None, batch: int = 5000, models=None) -> int:
    """Rewrite ``search_names`` of the given engagements (all when None); returns how many changed.

    Plain UPDATEs of the changed rows: no history record (the names are derived, not entered) and no version
    bump. ``models`` lets a migration pass its historical models."""
    engagement_model, participation_model, partner_model, series_model = models or (
        Engagement,
        Participation,
        PartnerNation,
        ExerciseSeries,
    )
    build = SearchNamesBuilder(partner_model=partner_model, series_model=series_model)
    rows = engagement_model.objects.order_by("pk")
    if engagement_ids is not None:
        rows = rows.filter(pk__in=list(engagement_ids))
    changed = 0
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last).values_list("pk", "series_id", "host_country_id", "search_names")[:batch])
        if not chunk:
            return changed
        last = chunk[-1][0]
        taking_part = defaultdict(list)
        for engagement_id, partner_id in (
            participation_model.objects.filter(engagement_id__in=[row[0] for row in chunk])
            .order_by("engagement_id", "pk")
            .values_list("engagement_id", "partner_id")
        ):
            taking_part[engagement_id].append(partner_id)
        stale = []
        for pk, series_id, host_id, current in chunk:
            names = build(series_id=series_id, host_id=host_id, participant_ids=taking_part[pk])
            if names != current:
                stale.append(engagement_model(pk=pk, search_names=names))
        engagement_model.objects.bulk_update(stale, ["search_names"], batch_size=1000)
        changed += len(stale)
