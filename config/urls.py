"""Root URLconf: pages per app, the API under /api/v1/, the schema and its viewers, /healthz."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import views as core_views
from core.api.views import RedocView
from engagements.api.bulk import EngagementBulkCreateView
from engagements.api.imports import EngagementImportView

api_v1 = [
    # Before the engagement routes, whose detail pattern would otherwise take "import" for an id.
    # Like the routers' routes (core.api.routers), with or without the trailing slash.
    re_path(r"^engagements/import/?$", EngagementImportView.as_view(), name="engagement-import"),
    re_path(r"^engagements/bulk/?$", EngagementBulkCreateView.as_view(), name="engagement-bulk"),
    path("", include("core.api.urls")),
    path("", include("partners.api.urls")),
    path("", include("organizations.api.urls")),
    path("", include("engagements.api.urls")),
    path("", include("assessments.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("notifications.api.urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("audit/", core_views.audit_log, name="audit"),
    path(
        "accounts/login/",
        login_not_required(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The signed-in user's own account: any user, whatever their role.
    path("account/password/", core_views.PasswordChangeView.as_view(), name="account-password"),
    path("account/tokens/", core_views.account_tokens, name="account-tokens"),
    path("account/tokens/<int:pk>/revoke/", core_views.account_token_revoke, name="account-token-revoke"),
    path("partners/", include("partners.urls")),
    path("organizations/", include("organizations.urls")),
    path("engagements/", include("engagements.urls")),
    path("units/", include("engagements.unit_urls")),
    # Public, so the login page can be switched to French before signing in.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("assessments/", include("assessments.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("inbox/", include("notifications.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # Our copy of the Redoc bundle, without the logo it would fetch from a CDN.
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
]

# Unknown /api/ URLs answer in the API's JSON error shape.
handler404 = "core.api.views.not_found"
# Requests Django refuses (a body too large for DATA_UPLOAD_MAX_MEMORY_SIZE is a 413), likewise.
handler400 = "core.api.views.bad_request"
# Styled pages (templates/403.html, 500.html) for people; JSON under /api/.
handler403 = "core.errors.permission_denied"
handler500 = "core.errors.server_error"

admin.site.site_header = _("Engagement Tracker administration")
admin.site.site_title = _("Engagement Tracker")
