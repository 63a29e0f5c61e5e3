"""The ``data`` of each event: what a receiver learns. Batch-loaded (one query per kind, not per row)."""

from __future__ import annotations

from collections.abc import Iterable


def engagements_data(engagement_ids: Iterable[int]) -> dict[int, dict]:
    """The engagements' main fields and participants, by id (deleted ones too: ``deleted`` says when)."""
    from engagements.models import Engagement

    engagements = (
        Engagement.objects.filter(pk__in=list(engagement_ids))
        .select_related("host_country", "series")
        .prefetch_related("participations__partner", "organizations")
    )
    return {
        e.pk: {
            "id": e.pk,
            "reference": e.reference,
            "title": e.title,
            "engagement_type": e.engagement_type,
            "domain": e.domain,
            "status": e.status,
            "sensitivity": e.sensitivity,
            "start_date": e.start_date.isoformat(),
            "end_date": e.end_date.isoformat(),
            "host_country": e.host_country.iso3 if e.host_country_id else None,
            "location_name": e.location_name,
            "series": e.series.slug if e.series_id else None,
            "organizations": sorted(o.acronym for o in e.organizations.all()),
            "participants": [
                {"partner": p.partner.iso3, "role": p.role, "personnel": p.personnel}
                for p in sorted(e.participations.all(), key=lambda p: p.partner.iso3)
            ],
            "version": e.version,
            "updated_at": e.updated_at.isoformat(),
            "deleted_at": e.deleted_at.isoformat() if e.deleted_at else None,
        }
        for e in engagements
    }


def run_data(run) -> dict:
    return {
        "id": str(run.pk),
        "trigger": run.trigger,
        "status": run.status,
        "periods": list(run.periods or []),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "partners_scored": run.partners_scored,
        "scores_written": run.scores_written,
        "error": run.error,
    }


def alert_data(alert) -> dict:
    return {
        "id": alert.pk,
        "partner": alert.partner.iso3,
        "period": alert.period.isoformat(),
        "overall": alert.overall,
        "previous_overall": alert.previous_overall,
        "delta_overall": alert.delta_overall,
        "raised_at": alert.raised_at.isoformat(),
    }
