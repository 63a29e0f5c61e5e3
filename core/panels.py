"""Home-page panels contributed by the apps above core, without core importing them.

An app registers, usually in its ``AppConfig.ready()``, a template and a function of the user that
returns the template's context, or None when the panel is not for that user::

    home_panel_register(template="engagements/home_panel.html", context=selectors.planner_home)

``core.selectors.home_context`` calls every registered function (keyword argument ``user``) and the home
page includes each template with its context as ``panel``. Panels appear in registration order (the
order of INSTALLED_APPS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HomePanel:
    template: str
    context: Callable[..., dict | None]


_PANELS: list[HomePanel] = []


def home_panel_register(*, template: str, context: Callable[..., dict | None]) -> None:
    panel = HomePanel(template=template, context=context)
    if panel not in _PANELS:  # ready() may run more than once (tests, autoreload)
        _PANELS.append(panel)


def home_panels(*, user) -> list[dict]:
    """The panels for ``user``: each as ``{"template": ..., "context": ...}``."""
    panels = []
    for panel in _PANELS:
        context = panel.context(user=user)
        if context is not None:
            panels.append({"template": panel.template, "context": context})
    return panels


# A role's own start page: "/" sends users of that role there (e.g. analysts to the assessment overview).
# Registered by URL name, so core never imports the app that owns the page.
_HOME_PAGES: dict[str, str] = {}


def home_page_register(*, role: str, url_name: str) -> None:
    _HOME_PAGES[role] = url_name


def home_page_for(*, role: str | None) -> str | None:
    """The URL name registered as ``role``'s start page, or None (the general home page)."""
    return _HOME_PAGES.get(role) if role else None
