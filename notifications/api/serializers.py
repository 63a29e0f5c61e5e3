from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from notifications.choices import Delivery, NotificationKind
from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)
    url = serializers.CharField(read_only=True, help_text=_("The page it is about, a path of this site."))
    title = serializers.CharField(
        source="shown_title", read_only=True, help_text=_("In the request's language (Accept-Language).")
    )
    body = serializers.CharField(source="shown_body", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created", "read_at", "is_read", "delivery", "emailed_at"]
        read_only_fields = fields


class PreferencesSerializer(serializers.Serializer):
    """The e-mail choice per kind; a PUT may give some kinds only (the others keep theirs)."""

    def get_fields(self):
        return {
            kind: serializers.ChoiceField(choices=Delivery.choices, required=False, help_text=label)
            for kind, label in NotificationKind.choices
        }


class ReadAllSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text=_("How many notifications were unread."))
