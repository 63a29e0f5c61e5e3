from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject


class QuickReadsMixin:
    """A serializer's reads as DRF gives them, with less work a row (lists of hundreds of rows).

    DRF walks the readable fields again for every row and reads each value through ``get_attribute``
    (a source path, a callable check, exceptions turned into defaults). Here the fields are listed once per
    serializer (a list serializer's child serves every row), and a model's own column is read with
    ``getattr``, which is what ``get_attribute`` does for a plain stored value; a many relation loaded into
    a list named ``listed_<relation>`` (``Prefetch(..., to_attr=...)``, e.g. by the engagement list's
    selector) is read from that list, the rows the relation's manager would give; every other field
    (relations, dotted sources, methods, fields with their own ``get_attribute``) goes through DRF as
    before. The model is ``read_model``, else ``Meta.model``. Each value is still formatted by its field."""

    read_model = None

    def to_representation(self, instance):
        plan = self.__dict__.get("_read_plan")
        if plan is None:
            plan = self.__dict__["_read_plan"] = self._reads()
        row = {}
        for name, column, field, listed in plan:
            if column is not None:
                value = getattr(instance, column)
            elif listed is not None and listed in instance.__dict__:
                value = instance.__dict__[listed]
            else:
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
                if isinstance(value, PKOnlyObject) and value.pk is None:
                    value = None
            row[name] = None if value is None else field.to_representation(value)
        return row

    def _reads(self) -> list[tuple]:
        model = self.read_model or getattr(getattr(self, "Meta", None), "model", None)
        columns = {f.attname for f in model._meta.concrete_fields if not f.is_relation} if model else set()
        many = {f.name for f in model._meta.get_fields() if f.many_to_many or f.one_to_many} if model else set()
        plan = []
        for field in self._readable_fields:
            attrs = field.source_attrs
            own = len(attrs) == 1 and type(field).get_attribute is Field.get_attribute
            column = attrs[0] if own and attrs[0] in columns else None
            listed = f"listed_{attrs[0]}" if own and attrs[0] in many else None
            plan.append((field.field_name, column, field, listed))
        return plan


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
