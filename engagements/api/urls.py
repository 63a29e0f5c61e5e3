from rest_framework.routers import SimpleRouter

from engagements.api.views import ChangeViewSet, EngagementViewSet, ExerciseSeriesViewSet

router = SimpleRouter()
router.register("engagements", EngagementViewSet, basename="engagement")
router.register("series", ExerciseSeriesViewSet, basename="series")
router.register("changes", ChangeViewSet, basename="change")
urlpatterns = router.urls
