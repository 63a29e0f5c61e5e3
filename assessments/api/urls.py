from django.urls import re_path

from assessments.api.views import (
    AlertViewSet,
    AssessmentRunViewSet,
    CooperationNetworkView,
    IndicatorViewSet,
    MeasurementViewSet,
    ObjectiveViewSet,
    PartnerComparisonView,
    PartnerScoreViewSet,
    ScoringModelDraftViewSet,
)
from core.api.routers import Router

router = Router()
router.register("assessments/scores", PartnerScoreViewSet, basename="assessment-score")
router.register("assessments/alerts", AlertViewSet, basename="assessment-alert")
router.register("assessments/runs", AssessmentRunViewSet, basename="assessment-run")
router.register("assessments/objectives", ObjectiveViewSet, basename="assessment-objective")
router.register("assessments/indicators", IndicatorViewSet, basename="assessment-indicator")
router.register("assessments/scoring-models", ScoringModelDraftViewSet, basename="assessment-scoring-model")
router.register("assessments/measurements", MeasurementViewSet, basename="assessment-measurement")
# Answers with or without the trailing slash, like the router's routes.
urlpatterns = [
    re_path(r"^assessments/compare/?$", PartnerComparisonView.as_view(), name="assessment-compare"),
    re_path(r"^assessments/network/?$", CooperationNetworkView.as_view(), name="assessment-network"),
    *router.urls,
]
