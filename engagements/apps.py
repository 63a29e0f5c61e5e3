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

        home_panel_register(template="engagements/home_panel.html", context=selectors.planner_home)
        home_panel_register(template="engagements/viewer_home_panel.html", context=selectors.viewer_home)
