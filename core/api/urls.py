from django.urls import re_path

from core.api.views import TokenObtainView

urlpatterns = [
    # With or without the trailing slash, like the routers' routes (core.api.routers).
    re_path(r"^auth/token/?$", TokenObtainView.as_view(), name="token-obtain"),
]
