from core.api.routers import Router
from engagements.api.units import UnitViewSet
from engagements.api.views import ChangeViewSet, EngagementViewSet, ExerciseSeriesViewSet

router = Router()
router.register("engagements", EngagementViewSet, basename="engagement")
router.register("series", ExerciseSeriesViewSet, basename="series")
router.register("changes", ChangeViewSet, basename="change")
router.register("units", UnitViewSet, basename="unit")
urlpatterns = router.urls
