"""Reads of what-if scoring models: drafts, their previews compared with the active model, and the
activation in progress that the score pages announce. Figures are SQL aggregates over the preview rows."""

from __future__ import annotations

from django.db.models import Avg, Count, F, FloatField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Abs

from assessments.choices import RunStatus
from assessments.models import DraftStatus, ScoringModelDraft, ScoringPreview, ScoringPreviewScore

MOVERS = 10
HISTOGRAM_BIN = 10  # points of the overall score per histogram bar


def draft_list() -> QuerySet[ScoringModelDraft]:
    """Drafts, newest first, with who drafted them, the version made from them and their latest preview's
    status: one query whatever their number."""
    latest = ScoringPreview.objects.filter(draft=OuterRef("pk")).order_by("-created_at")
    return (
        ScoringModelDraft.objects.select_related("created_by", "scoring_model", "activated_by")
        .annotate(
            latest_preview_status=Subquery(latest.values("status")[:1]),
            latest_preview_at=Subquery(latest.values("created_at")[:1]),
        )
        .order_by("-updated_at", "-id")
    )


def draft_get(*, pk) -> ScoringModelDraft | None:
    try:
        return draft_list().filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def scoring_model_recomputing() -> ScoringModelDraft | None:
    """The activation in progress, with the version being computed: the pages keep showing the active
    model's scores and say so until its backfill has succeeded."""
    return (
        ScoringModelDraft.objects.select_related("scoring_model", "backfill_run")
        .filter(status=DraftStatus.ACTIVATING)
        .first()
    )


def preview_latest(*, draft: ScoringModelDraft) -> ScoringPreview | None:
    """The draft's most recent preview, whatever its status (the page shows it running or failed)."""
    return draft.previews.select_related("baseline_model").order_by("-created_at").first()


def preview_latest_succeeded(*, draft: ScoringModelDraft) -> ScoringPreview | None:
    return (
        draft.previews.select_related("baseline_model")
        .filter(status=RunStatus.SUCCEEDED)
        .order_by("-created_at")
        .first()
    )


def preview_rows(*, preview: ScoringPreview) -> QuerySet[ScoringPreviewScore]:
    """Every partner of the preview with its draft and active scores, ``shift`` (draft - active overall)
    and ``rank_change`` (places gained: active rank - draft rank), best draft rank first."""
    return (
        ScoringPreviewScore.objects.filter(preview=preview)
        .select_related("partner")
        .annotate(
            shift=F("overall") - F("baseline_overall"),
            rank_change=F("baseline_rank") - F("rank"),
        )
        .order_by(F("rank").asc(nulls_last=True), "partner__name")
    )


def _histogram(rows: QuerySet, field: str) -> list[int]:
    bins = range(0, 100, HISTOGRAM_BIN)
    counts = rows.aggregate(
        **{
            f"b{low}": Count(
                "pk",
                filter=Q(**{f"{field}__gte": low})
                & (Q(**{f"{field}__lt": low + HISTOGRAM_BIN}) if low + HISTOGRAM_BIN < 100 else Q()),
            )
            for low in bins
        }
    )
    return [counts[f"b{low}"] for low in bins]


def preview_summary(*, preview: ScoringPreview, movers: int = MOVERS) -> dict:
    """What the preview page and API show: how many partners rose or fell in rank, the largest rank
    changes and score shifts, and the distribution of overall scores (10-point bins, mean) under the draft
    and under the active model. Five queries."""
    rows = preview_rows(preview=preview)
    both = rows.filter(overall__isnull=False, baseline_overall__isnull=False)
    totals = rows.aggregate(
        partners=Count("pk"),
        scored=Count("pk", filter=Q(overall__isnull=False)),
        baseline_scored=Count("pk", filter=Q(baseline_overall__isnull=False)),
        rank_up=Count("pk", filter=Q(rank__isnull=False, baseline_rank__isnull=False, rank__lt=F("baseline_rank"))),
        rank_down=Count("pk", filter=Q(rank__isnull=False, baseline_rank__isnull=False, rank__gt=F("baseline_rank"))),
        rank_same=Count("pk", filter=Q(rank__isnull=False, rank=F("baseline_rank"))),
        mean=Avg("overall"),
        baseline_mean=Avg("baseline_overall"),
        mean_shift=Avg(F("overall") - F("baseline_overall"), output_field=FloatField()),
    )
    draft_bins = _histogram(rows, "overall")
    baseline_bins = _histogram(rows, "baseline_overall")
    peak = max([*draft_bins, *baseline_bins, 1])
    histogram = [
        {
            "low": low,
            "high": low + HISTOGRAM_BIN,
            "count": draft_count,
            "baseline_count": baseline_count,
            "share": draft_count / peak,
            "baseline_share": baseline_count / peak,
        }
        for low, draft_count, baseline_count in zip(
            range(0, 100, HISTOGRAM_BIN), draft_bins, baseline_bins, strict=True
        )
    ]
    largest_movers = list(both.order_by(Abs(F("shift")).desc(), "partner__name")[:movers])
    rank_changes = list(
        both.exclude(rank=F("baseline_rank")).order_by(Abs(F("rank_change")).desc(), "rank", "partner__name")[:movers]
    )
    return {**totals, "histogram": histogram, "largest_movers": largest_movers, "rank_changes": rank_changes}
