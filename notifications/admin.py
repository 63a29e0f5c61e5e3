from django.contrib import admin

from notifications.models import Follow, Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are made by the application, never by hand."""

    list_display = ["title", "recipient", "kind", "created", "read_at", "delivery", "emailed_at", "email_attempts"]
    list_filter = ["kind", "delivery"]
    search_fields = ["title", "recipient__username"]
    list_select_related = ["recipient"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(NotificationPreference)
admin.site.register(Follow)
