from assessments.api.views import (
    AlertViewSet,
    AssessmentRunViewSet,
    IndicatorViewSet,
    MeasurementViewSet,
    ObjectiveViewSet,
    PartnerScoreViewSet,
)
from core.api.routers import Router

router = Router()
router.register("assessments/scores", PartnerScoreViewSet, basename="assessment-score")
router.register("assessments/alerts", AlertViewSet, basename="assessment-alert")
router.register("assessments/runs", AssessmentRunViewSet, basename="assessment-run")
router.register("assessments/objectives", ObjectiveViewSet, basename="assessment-objective")
router.register("assessments/indicators", IndicatorViewSet, basename="assessment-indicator")
router.register("assessments/measurements", MeasurementViewSet, basename="assessment-measurement")
urlpatterns = router.urls
