"""Engagements serve objectives: the ``objectives`` field of the engagement form and API, filled in by this
app through ``engagements.extensions`` (engagements never imports us; we register in ``ready()``).

Why an extension registry and not only a signal: the link must be checked with every other problem of the
engagement input (one 400 listing them all) and saved in the same transaction as the engagement, so
nothing is half-saved; a signal sent after commit could do neither. The rule lives in ``assessments.rules``
and the write in ``engagement_objectives_set`` (the one path, also for the demo data).
"""

from __future__ import annotations

from django import forms
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from assessments import rules
from assessments.models import EngagementObjective, Objective
from engagements.extensions import KEEP, EngagementExtension, engagement_extension_register

MAX_OBJECTIVES = 200


def _ids(value) -> tuple[list[int], list[str]]:
    ids, problems = [], []
    for item in value or []:
        try:
            number = int(item)
        except (TypeError, ValueError):
            problems.append(_("“%(value)s” is not an objective id.") % {"value": str(item)[:40]})
            continue
        if number not in ids:
            ids.append(number)
    if len(ids) > MAX_OBJECTIVES:
        problems.append(_("At most %(n)s objectives.") % {"n": MAX_OBJECTIVES})
    return ids, problems


def clean(*, value, engagement, partner_ids):
    if value is KEEP:
        # Participants changed, objectives not given: links to partners who left are dropped on apply.
        return (KEEP if partner_ids is None else ("prune", partner_ids)), []
    if value is None:  # a new engagement without objectives
        return None, []
    ids, problems = _ids(value)
    if partner_ids is None:  # an update giving objectives only: the participants as they are
        partner_ids = set(engagement.participations.values_list("partner_id", flat=True))
    existing = {o.pk: o for o in Objective.objects.filter(pk__in=ids).select_related("partner")} if ids else {}
    problems += rules.objective_link_refusals(objective_ids=ids, objectives=existing, partner_ids=partner_ids)
    return ids, problems


def engagement_objectives_set(*, engagement, objective_ids, user=None) -> None:
    """Make the engagement serve exactly these objectives (already checked by ``clean``)."""
    EngagementObjective.objects.filter(engagement=engagement).exclude(objective_id__in=objective_ids).delete()
    have = set(EngagementObjective.objects.filter(engagement=engagement).values_list("objective_id", flat=True))
    EngagementObjective.objects.bulk_create(
        [
            EngagementObjective(engagement=engagement, objective_id=pk, linked_by=user)
            for pk in objective_ids
            if pk not in have
        ],
        ignore_conflicts=True,
    )


def apply(*, engagement, value, user):
    if value is KEEP or value is None:
        return
    if isinstance(value, tuple) and value[0] == "prune":
        EngagementObjective.objects.filter(engagement=engagement).exclude(objective__partner_id__in=value[1]).delete()
        return
    engagement_objectives_set(engagement=engagement, objective_ids=value, user=user)


def apply_new(*, items, user):
    """New engagements' objectives (imports and the bulk create), in one statement."""
    EngagementObjective.objects.bulk_create(
        [
            EngagementObjective(engagement_id=engagement.pk, objective_id=pk, linked_by=user)
            for engagement, objective_ids in items
            for pk in objective_ids
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )


# The exchange file's ``objectives`` column: the ids (as in the API) separated by ";", in ascending order.
def cells(engagement_ids: list[int]) -> dict[int, str]:
    found: dict[int, list[int]] = {}
    for engagement_id, objective_id in (
        EngagementObjective.objects.filter(engagement_id__in=engagement_ids)
        .values_list("engagement_id", "objective_id")
        .order_by("engagement_id", "objective_id")
    ):
        found.setdefault(engagement_id, []).append(objective_id)
    return {pk: ";".join(str(i) for i in ids) for pk, ids in found.items()}


def read_cell(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]  # ids are checked by ``clean``


def to_cell(value) -> str | None:
    if value is KEEP or isinstance(value, tuple):  # left alone (or pruned with the participants): as stored
        return None
    return ";".join(str(i) for i in sorted(value or []))


def detail_context(*, engagement, user):
    """The engagement page's "Objectives served" panel: the objectives, with their partner, line of effort and
    status, linked to their pages. Whoever may read the engagement reads its objectives (as in the API)."""
    objectives = list(
        Objective.objects.filter(engagement_links__engagement=engagement)
        .select_related("partner")
        .order_by("partner__name", "title", "pk")
    )
    return {"objectives": objectives, "engagement": engagement}


def _choices():
    rows = Objective.objects.select_related("partner").order_by("partner__name", "title")
    grouped: dict[str, list] = {}
    for objective in rows:
        grouped.setdefault(f"{objective.partner.name} ({objective.partner.iso3})", []).append(
            (str(objective.pk), objective.title)
        )
    return list(grouped.items())


class ObjectivesFormField(forms.TypedMultipleChoiceField):
    def __init__(self):
        super().__init__(
            label=_("Objectives served"),
            required=False,
            coerce=int,
            help_text=_("Objectives of the participating partners that this engagement serves."),
            widget=forms.SelectMultiple(attrs={"size": 8}),
        )
        self.choices = _choices

    def valid_value(self, value):
        return True  # an id no longer offered is judged by the service, beside the others


class ObjectiveIdsField(serializers.ListField):
    """Ids of the objectives (``/api/v1/assessments/objectives/``) of participating partners it serves."""

    def __init__(self):
        super().__init__(
            child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
            required=False,
            max_length=MAX_OBJECTIVES,
            help_text=_(
                "Ids of the objectives it serves; each must belong to a participating partner. Replaces the "
                "whole list when given."
            ),
        )

    def get_attribute(self, engagement):
        return sorted(link.objective_id for link in _links(engagement))

    def to_representation(self, data):
        return list(data)


def initial(engagement):
    return [link.objective_id for link in _links(engagement)]


def _links(engagement):
    """The engagement's objective links: those ``prepare`` loaded, else read."""
    loaded = engagement.__dict__.get("listed_objective_links")
    return loaded if loaded is not None else engagement.objective_links.all()


def prepare(queryset):
    # Into a list: a prefetch into the relation builds a queryset for every row (engagements/selectors.py).
    return queryset.prefetch_related(
        Prefetch(
            "objective_links",
            queryset=EngagementObjective.objects.only("engagement_id", "objective_id"),
            to_attr="listed_objective_links",
        )
    )


def register() -> None:
    engagement_extension_register(
        EngagementExtension(
            name="objectives",
            clean=clean,
            apply=apply,
            form_field=ObjectivesFormField,
            initial=initial,
            api_field=ObjectiveIdsField,
            prepare=prepare,
            cells=cells,
            read_cell=read_cell,
            to_cell=to_cell,
            apply_new=apply_new,
            detail_template="assessments/engagement_objectives_panel.html",
            detail_context=detail_context,
        )
    )
