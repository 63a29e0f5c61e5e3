from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from core.roles import ROLE_LABELS, role_of

# The four areas of the application, in the order of the navigation bar.
AREAS = [
    ("engagements", _("Engagements"), "engagements:list"),
    ("partners", _("Partners"), "partners:list"),
    ("organizations", _("Organizations"), "organizations:list"),
    ("assessments", _("Assessments"), "assessments:overview"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = []
    for key, label, url_name in AREAS:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"key": key, "label": label, "url": url, "active": request.path.startswith(url)})
    role = role_of(user)
    return {"nav_items": items, "user_role": role, "user_role_label": ROLE_LABELS.get(role, "")}
