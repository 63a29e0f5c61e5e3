from core.api.routers import Router
from engagements.api.views import ChangeViewSet, EngagementViewSet, ExerciseSeriesViewSet

router = Router()
router.register("engagements", EngagementViewSet, basename="engagement")
router.register("series", ExerciseSeriesViewSet, basename="series")
router.register("changes", ChangeViewSet, basename="change")
urlpatterns = router.urls
