from django.urls import path

from core.api.routers import Router
from engagements.api.units import UnitViewSet
from engagements.api.views import (
    CalendarFeedView,
    ChangeViewSet,
    EngagementViewSet,
    ExerciseSeriesViewSet,
    SavedFilterViewSet,
)

router = Router()
# Before "engagements": its detail route would otherwise take "saved-filters" for an id.
router.register("engagements/saved-filters", SavedFilterViewSet, basename="saved-filter")
router.register("engagements", EngagementViewSet, basename="engagement")
router.register("series", ExerciseSeriesViewSet, basename="series")
router.register("changes", ChangeViewSet, basename="change")
router.register("units", UnitViewSet, basename="unit")
urlpatterns = [*router.urls, path("calendar-feed/", CalendarFeedView.as_view(), name="calendar-feed")]
