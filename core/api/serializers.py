from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (core/api/exceptions.py)."""

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
