from django.urls import path

from core.api.views import TokenObtainView

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
]
