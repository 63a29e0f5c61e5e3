from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementsConfig(AppConfig):
    name = "engagements"
    verbose_name = _("Engagements")

    def ready(self):
        from django.db.backends.signals import connection_created

        from core.panels import home_panel_register
        from engagements import audit, search, selectors

        # SQLite's search fallback folds accents with the same Python function as the stored names.
        connection_created.connect(search.install_fold_function, dispatch_uid="engagements.search_fold")

        audit.register()

        from django.db.models.signals import post_delete, pre_delete

        from organizations.models import Organization

        def _frameworks_before_delete(sender, instance, **kwargs):
            # The engagements run under an organization lose it with the organization (a cascade on the
            # through table): their stored framework flag is refreshed once it is gone.
            instance._framework_engagement_ids = list(instance.engagements.values_list("pk", flat=True))

        def _frameworks_after_delete(sender, instance, **kwargs):
            from engagements.services.shape import engagement_shape_refresh

            engagement_shape_refresh(engagement_ids=getattr(instance, "_framework_engagement_ids", []))

        pre_delete.connect(
            _frameworks_before_delete, sender=Organization, dispatch_uid="engagements.frameworks_before", weak=False
        )
        post_delete.connect(
            _frameworks_after_delete, sender=Organization, dispatch_uid="engagements.frameworks_after", weak=False
        )

        home_panel_register(template="engagements/home_panel.html", context=selectors.planner_home)
        home_panel_register(template="engagements/viewer_home_panel.html", context=selectors.viewer_home)
