from django.urls import re_path

from core.api.routers import Router
from core.api.views import ApiTokenViewSet, TokenObtainView

router = Router()
router.register("auth/tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [
    # With or without the trailing slash, like the routers' routes (core.api.routers).
    re_path(r"^auth/token/?$", TokenObtainView.as_view(), name="token-obtain"),
    *router.urls,
]
