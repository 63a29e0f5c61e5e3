from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = _("Assessments")

    def ready(self):
        # Listen to the engagements app's announcements of changed data.
        from assessments import audit, engagement_objectives, receivers, selectors  # noqa: F401
        from core.panels import home_page_register, home_panel_register
        from core.roles import ANALYST

        # Analysts start on the assessment overview instead of the general home page.
        home_page_register(role=ANALYST, url_name="assessments:overview")
        audit.register()
        home_panel_register(template="assessments/viewer_home_panel.html", context=selectors.viewer_home)
        # The engagement form and API get an ``objectives`` field, owned and checked here.
        engagement_objectives.register()

        def _ensure_scoring_model(sender, using="default", **kwargs):
            from assessments.services.runs import scoring_model_ensure

            scoring_model_ensure(using=using)

        # Reads never create the active model: `migrate`, and the flush between transactional tests, do.
        post_migrate.connect(_ensure_scoring_model, sender=self, dispatch_uid="assessments.scoring_model", weak=False)
