from django.urls import path

from core.api.routers import Router
from engagements.api.views import CalendarFeedView, ChangeViewSet, EngagementViewSet, ExerciseSeriesViewSet

router = Router()
router.register("engagements", EngagementViewSet, basename="engagement")
router.register("series", ExerciseSeriesViewSet, basename="series")
router.register("changes", ChangeViewSet, basename="change")
urlpatterns = [*router.urls, path("calendar-feed/", CalendarFeedView.as_view(), name="calendar-feed")]
