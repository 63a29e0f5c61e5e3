from django.utils.functional import SimpleLazyObject

from notifications.selectors import unread_count


def inbox(request):
    """The unread count in the header: one COUNT query, and only when a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": SimpleLazyObject(lambda: unread_count(user=user))}
