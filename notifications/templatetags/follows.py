"""``{% follow_button region=... %}`` / ``{% follow_button organization=... %}``: follow or unfollow a region or
an organization from its page, to hear of its score alerts (one query)."""

from django import template

from notifications.selectors import is_following

register = template.Library()


@register.inclusion_tag("notifications/_follow_button.html", takes_context=True)
def follow_button(context, *, region: str = "", organization=None):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    return {
        "show": True,
        "region": region if organization is None else "",
        "organization": organization,
        "following": is_following(user=user, region=region, organization=organization),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
