from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = _("Assessments")

    def ready(self):
        # Listen to the engagements app's announcements of changed data.
        from assessments import audit, receivers  # noqa: F401
        from core.panels import home_page_register
        from core.roles import ANALYST

        # Analysts start on the assessment overview instead of the general home page.
        home_page_register(role=ANALYST, url_name="assessments:overview")
        audit.register()
