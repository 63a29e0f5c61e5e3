from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (core/api/exceptions.py)."""

    optional_in_response = ("errors", "retry_after_seconds")  # read by core.api.schema.AutoSchema

    detail = serializers.CharField(help_text="A sentence saying what went wrong.")
    code = serializers.CharField(
        help_text="Machine-readable: invalid, parse_error, not_authenticated, authentication_failed, "
        "permission_denied, not_found, method_not_allowed, unsupported_media_type, conflict, throttled ..."
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400 and 409 only: messages per input field, by path (participants[1].partner, "
        "after_action.summary); non_field_errors for the request as a whole.",
    )
    retry_after_seconds = serializers.IntegerField(
        required=False, help_text="429 only: seconds to wait (also in the Retry-After header)."
    )


class TokenRequestSerializer(serializers.Serializer):
    """A username and password, and how the new token is to be named and how long it lives."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="What the token is for, shown in token lists."
    )
    expires_in_days = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Lifetime in days: API_TOKEN_DAYS (90) when not given, at most API_TOKEN_MAX_DAYS (365).",
    )

    def validate(self, attrs):
        from django.contrib.auth import authenticate

        user = authenticate(request=self.context.get("request"), username=attrs["username"], password=attrs["password"])
        if user is None:
            # The same words as DRF's own token view, so the message keeps its translations.
            raise serializers.ValidationError(_("Unable to log in with provided credentials."), code="authorization")
        attrs["user"] = user
        return attrs


class TokenCreatedSerializer(serializers.Serializer):
    """A new token: its secret appears in this answer only."""

    id = serializers.IntegerField(help_text="Revoke it with DELETE /api/v1/auth/tokens/{id}/.")
    name = serializers.CharField()
    token = serializers.CharField(
        help_text="Send as `Authorization: Token <token>` or `Authorization: Bearer <token>`."
    )
    expires_at = serializers.DateTimeField()


class ApiTokenSerializer(serializers.Serializer):
    """One of the caller's tokens, without its secret."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    created = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(source="expiry", read_only=True)
    last_used = serializers.DateTimeField(read_only=True, allow_null=True)
