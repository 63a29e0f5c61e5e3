from django.urls import path
from rest_framework.routers import SimpleRouter

from core.api.views import ApiTokenViewSet, TokenObtainView

router = SimpleRouter()
router.register("auth/tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    *router.urls,
]
