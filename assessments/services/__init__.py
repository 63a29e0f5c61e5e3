"""Writes of the assessments app. ``scoring`` computes, ``runs`` runs and stores, ``objectives`` edits."""

from assessments.services.objectives import (
    alert_acknowledge,
    indicator_create,
    indicator_delete,
    indicator_update,
    measurement_create,
    measurement_delete,
    measurement_update,
    objective_create,
    objective_delete,
    objective_update,
)
from assessments.services.runs import (
    assessment_run_execute,
    assessment_run_nightly,
    assessment_run_request,
    assessment_runs_resend_waiting,
    scores_mark_stale,
    scores_recompute_request,
    scores_store,
    scoring_model_active,
    stale_quarters,
)
from assessments.services.scoring import components_from, counted_participations, scores_compute

__all__ = [
    "alert_acknowledge",
    "assessment_run_execute",
    "assessment_run_nightly",
    "assessment_run_request",
    "assessment_runs_resend_waiting",
    "components_from",
    "counted_participations",
    "indicator_create",
    "indicator_delete",
    "indicator_update",
    "measurement_create",
    "measurement_delete",
    "measurement_update",
    "objective_create",
    "objective_delete",
    "objective_update",
    "scores_compute",
    "scores_mark_stale",
    "scores_recompute_request",
    "scores_store",
    "scoring_model_active",
    "stale_quarters",
]
