from django.urls import re_path

from core.api.routers import Router
from notifications.api.views import NotificationPreferencesView, NotificationViewSet

router = Router()
router.register("notifications", NotificationViewSet, basename="notification")
urlpatterns = [
    # Before the router's detail route; with or without the trailing slash, like the routers' routes.
    re_path(r"^notifications/preferences/?$", NotificationPreferencesView.as_view(), name="notification-preferences"),
    *router.urls,
]
