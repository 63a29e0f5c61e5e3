"""Root URLconf: pages per app, the API under /api/v1/, the schema and its viewers, /healthz."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core import views as core_views

api_v1 = [
    path("", include("core.api.urls")),
    path("", include("partners.api.urls")),
    path("", include("organizations.api.urls")),
    path("", include("engagements.api.urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path(
        "accounts/login/",
        login_not_required(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("partners/", include("partners.urls")),
    path("organizations/", include("organizations.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

# Unknown /api/ URLs answer in the API's JSON error shape.
handler404 = "core.api.views.not_found"

admin.site.site_header = "Engagement Tracker administration"
admin.site.site_title = "Engagement Tracker"
