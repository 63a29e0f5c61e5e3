from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementsConfig(AppConfig):
    name = "engagements"
    verbose_name = _("Engagements")

    def ready(self):
        from core.panels import home_panel_register
        from engagements import audit, selectors

        audit.register()

        home_panel_register(template="engagements/home_panel.html", context=selectors.planner_home)
        home_panel_register(template="engagements/viewer_home_panel.html", context=selectors.viewer_home)
