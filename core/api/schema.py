"""drf-spectacular's AutoSchema plus the API's error answers, documented on every operation."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_parameter_type, force_instance
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from core.api.serializers import ErrorSerializer
from core.filters import MULTI_VALUE_NOTE, MultiValueFilter, StableOrderingFilter

# A calendar quarter, as every quarter parameter and field is written (never a date).
QUARTER_SCHEMA = {"type": "string", "pattern": r"^\d{4}-Q[1-4]$", "example": "2025-Q3"}

ERROR_RESPONSES = {
    "400": (
        "Invalid input: messages per field.",
        {
            "detail": "Invalid input.",
            "code": "invalid",
            "errors": {"participants[1].partner": ["Unknown country code “XYZ”."]},
        },
    ),
    "401": (
        "No or invalid credentials.",
        {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"},
    ),
    "403": (
        "The user's role does not allow this.",
        {"detail": "You do not have permission to perform this action.", "code": "permission_denied"},
    ),
    "404": (
        "Not found, or not visible to this user.",
        {"detail": "Not found.", "code": "not_found"},
    ),
    "429": (
        "Too many requests: wait for Retry-After seconds.",
        {
            "detail": "Request was throttled. Expected available in 12 seconds.",
            "code": "throttled",
            "retry_after_seconds": 12,
        },
    ),
}


BODY_ERROR_RESPONSES = {
    "415": (
        "The body is not JSON (send `Content-Type: application/json`).",
        {"detail": 'Unsupported media type "text/plain" in request.', "code": "unsupported_media_type"},
    ),
}


PRECONDITION_RESPONSES = {
    "412": (
        "If-Match named another version: the resource changed since you read it. Nothing was written.",
        {
            "detail": "The resource changed since you read it: read it again (new ETag) and apply your change to it.",
            "code": "precondition_failed",
        },
    ),
}
IDEMPOTENCY_RESPONSES = {
    "409": (
        "This Idempotency-Key came with another body, or its first request is still being processed.",
        {
            "detail": "This Idempotency-Key was used with another request body; use a new key for a new request.",
            "code": "conflict",
            "errors": {
                "Idempotency-Key": [
                    "This Idempotency-Key was used with another request body; use a new key for a new request."
                ]
            },
        },
    ),
}


# On every API answer a rate counted (core/middleware.py), named as in draft-ietf-httpapi-ratelimit-headers-06.
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {"schema": {"type": "integer"}, "description": "Requests allowed in the window."},
    "RateLimit-Remaining": {"schema": {"type": "integer"}, "description": "Requests left in the window."},
    "RateLimit-Reset": {
        "schema": {"type": "integer"},
        "description": "Seconds until the whole allowance is available again.",
    },
}


class AutoSchema(SpectacularAutoSchema):
    """Views may set ``error_examples = {"400": {...}}`` to document their own error answers."""

    def map_parsers(self):
        # JSON is the contract. (Form and multipart bodies listed beside it with one schema made generated
        # Python clients fail to import; operations that take only a file upload keep multipart.)
        media_types = super().map_parsers()
        return ["application/json"] if "application/json" in media_types else media_types

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and schema.get("properties"):
            # An answer always carries every field of its serializer: say so, so that typed clients need no
            # guard (``version`` sent back as read, ``status`` ...).
            # A serializer whose answers leave some out names them in ``optional_in_response``.
            optional = set(getattr(serializer, "optional_in_response", ()))
            schema["required"] = sorted(set(schema["properties"]) - optional)
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # Nested lists (``participants``) keep their length limits, which drf-spectacular leaves out.
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
            if field.min_length is not None:
                schema["minItems"] = field.min_length
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        # Decimals travel as strings, which drf-spectacular gives a pattern but no bounds: a field that
        # refuses negative amounts (``budget_usd``) says so with its minimum and a pattern without a sign.
        if isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            if field.min_value is not None:
                schema["minimum"] = float(field.min_value)
                if field.min_value >= 0 and schema.get("pattern", "").startswith("^-?"):
                    schema["pattern"] = "^" + schema["pattern"][3:]
            if field.max_value is not None:
                schema["maximum"] = float(field.max_value)

    # --- the write contract (core/api/writes.py), on the viewsets that have it ------------------------------

    def _has_write_contract(self) -> bool:
        from core.api.writes import WriteContractMixin

        return isinstance(self.view, WriteContractMixin)

    def _on_one_object(self) -> bool:
        return "{" in self.path

    def _takes_if_match(self) -> bool:
        return self._has_write_contract() and (
            self.method in ("PUT", "PATCH", "DELETE") or (self.method == "POST" and self._on_one_object())
        )

    def _gives_etag(self) -> bool:
        return self._has_write_contract() and self.method == "GET" and self._on_one_object()

    def get_override_parameters(self):
        from core.api.writes import IDEMPOTENCY_HEADER, KEY_MAX_LENGTH

        parameters = list(super().get_override_parameters())
        header = OpenApiParameter.HEADER
        if self._has_write_contract() and self.method == "POST":
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH},
                    header,
                    description="Any unique string (a UUID). The same POST sent again with it by the same user "
                    "within 24 hours returns the first answer and writes nothing more; the same key with another "
                    "body is a 409.",
                )
            )
        if self._takes_if_match():
            parameters.append(
                OpenApiParameter(
                    "If-Match",
                    str,
                    header,
                    description="The ETag you read: 412 and nothing written if the resource changed since.",
                )
            )
        if self._gives_etag():
            parameters.append(
                OpenApiParameter(
                    "If-None-Match", str, header, description="The ETag you hold: 304 without a body if unchanged."
                )
            )
        return parameters

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = dict(super()._get_response_headers_for_code(status_code, direction) or {})
        if self._has_write_contract():
            if str(status_code) == "201":
                headers["Location"] = {"schema": {"type": "string"}, "description": "The new resource's address."}
            if str(status_code) in ("200", "201") and (self._on_one_object() or self.method == "POST"):
                headers["ETag"] = {
                    "schema": {"type": "string"},
                    "description": "The resource's version, for If-Match and If-None-Match.",
                }
        return headers

    def _takes_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None

    def _invalid_input_example(self, engagement_example: dict) -> dict:
        """A 400 example of this operation's own input: the engagement example on engagement writes, else the
        first required field of the body (or of the query) missing."""
        serializer = force_instance(self.get_request_serializer()) if self._takes_body() else None
        fields = getattr(serializer, "fields", None) if isinstance(serializer, serializers.Serializer) else None
        if fields is not None:
            if "participants" in fields:
                return engagement_example
            writable = [name for name, field in fields.items() if not field.read_only]
            required = [name for name in writable if fields[name].required] or writable
            if required:
                message = "This field is required." if fields[required[0]].required else "This field may not be blank."
                return {"detail": "Invalid input.", "code": "invalid", "errors": {required[0]: [message]}}
        names = (
            [p["name"] for p in self._get_filter_parameters() if p.get("in") == "query"] if self._is_list_view() else []
        )
        name = next((n for n in names if n in ("status", "period", "partner", "ordering")), names[0] if names else None)
        if name is None:
            return {"detail": "Invalid input.", "code": "invalid", "errors": {"non_field_errors": ["Invalid input."]}}
        return {"detail": "Invalid input.", "code": "invalid", "errors": {name: ["Enter a valid value."]}}

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        anonymous = not self.get_auth() or self.get_auth() == [{}]
        own = getattr(self.view, "error_examples", {})
        errors = {**ERROR_RESPONSES, **(BODY_ERROR_RESPONSES if self._takes_body() else {})}
        if self._gives_etag() and "304" not in responses:
            responses["304"] = {
                "description": "Not modified: If-None-Match named the current ETag. No body.",
                "headers": {"ETag": {"schema": {"type": "string"}, "description": "The current ETag."}},
            }
        if self._takes_if_match():
            errors.update(PRECONDITION_RESPONSES)
        if self._has_write_contract() and self.method == "POST":
            errors.update(IDEMPOTENCY_RESPONSES)
        for code, (description, example) in errors.items():
            if code in responses or (anonymous and code in ("401", "403")):
                continue
            if code == "400" and "400" not in own:
                example = self._invalid_input_example(example)
            example = own.get(code, example)
            response = OpenApiResponse(
                ErrorSerializer,
                description=description,
                examples=[OpenApiExample(f"error {code}", value=example, status_codes=[code])],
            )
            responses[code] = self._get_response_for_code(response, code, direction=direction)
            if code == "429":
                responses[code]["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."},
                    **RATE_LIMIT_HEADERS,
                }
        return responses


# --- examples for operations that do not write their own ------------------------------------------------

NAME_HINTS = {
    "partner": "NGA",
    "iso3": "NGA",
    "host_country": "NGA",
    "period": "2025-Q3",
    "periods": ["2025-Q2", "2025-Q3"],
    "acronym": "ECOWAS",
    "organization": "ECOWAS",
    "reference": "ENG-2025-000123",
    "series": "obangame-express",
    "unit": "%",
    "source": "Partner ministry of defence report",
    "name": "Maritime patrol days per month",
    "title": "Maritime security capacity",
    "line_of_effort": "maritime_security",
    "baseline_value": 12.0,
    "target_value": 30.0,
    "latest_value": 18.0,
    "value": 18.0,
    "progress": 0.33,
    "delta_overall": -4.2,
    "weight": 0.71,
    "next": "https://engagements.example.org/api/v1/resource/?page=3",
    "previous": "https://engagements.example.org/api/v1/resource/?page=1",
}
FORMAT_EXAMPLES = {
    "date": "2025-09-30",
    "date-time": "2025-10-01T02:00:00Z",
    "uuid": "3f2b7c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e",
    "uri": "https://engagements.example.org/api/v1/resource/?page=2",
}


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def example_for(schema: dict, components: dict, name: str = "", depth: int = 0):
    """A plausible value for ``schema``: enums take their first value, dates a real date, known field
    names a domain value (a country code, a quarter ...)."""
    schema = _resolve(schema, components)
    for combined in ("allOf", "oneOf", "anyOf"):
        if combined in schema:
            choices = [s for s in schema[combined] if _resolve(s, components).get("type") != "null"]
            if choices:
                return example_for(choices[0], components, name, depth)
    if "enum" in schema:
        values = [v for v in schema["enum"] if v not in (None, "")]
        return values[0] if values else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {
            key: example_for(value, components, key, depth + 1) for key, value in schema.get("properties", {}).items()
        }
    if kind == "array":
        if name in NAME_HINTS and isinstance(NAME_HINTS[name], list):
            return NAME_HINTS[name]
        return [example_for(schema.get("items", {}), components, name, depth + 1)] if depth <= 4 else []
    hint = NAME_HINTS.get(name)
    if kind == "number" and isinstance(hint, float):
        return hint
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return schema.get("minimum", 62.5)
    if kind == "boolean":
        return True
    if schema.get("format") in FORMAT_EXAMPLES:
        return FORMAT_EXAMPLES[schema["format"]]
    return hint if isinstance(hint, str) else "string"


def nullable_references(result, generator, request, public):
    """Postprocessing hook: ``nullable`` beside a bare ``allOf`` (how drf-spectacular writes a nullable
    nested object) has no effect in OAS 3.0, where ``nullable`` needs a ``type`` beside it, and strict
    validators reject it. Written instead as one of the object or null."""

    def fix(node):
        if isinstance(node, dict):
            if node.get("nullable") and "allOf" in node and "type" not in node:
                refs = node.pop("allOf")
                node.pop("nullable")
                node["oneOf"] = [*refs, {"type": "object", "nullable": True, "enum": [None]}]
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(result)
    return result


def add_missing_examples(result, generator, request, public):
    """Postprocessing hook: every JSON request and response body gets at least one example."""
    components = result.get("components", {}).get("schemas", {})
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
            bodies += [r.get("content", {}).get("application/json") for r in operation.get("responses", {}).values()]
            for body in bodies:
                if body and not body.get("examples") and "schema" in body:
                    body["examples"] = {"Example": {"value": example_for(body["schema"], components)}}
    return result


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Our knox token class, in the schema as the two headers it accepts: either one will do."""

    target_class = "core.api.authentication.ApiTokenAuthentication"
    name = ["tokenAuth", "bearerAuth"]
    priority = 1

    def get_security_requirement(self, auto_schema):
        return [{"tokenAuth": []}, {"bearerAuth": []}]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Token <token>`, with a token from `POST /api/v1/auth/token/`.",
            },
            {
                "type": "http",
                "scheme": "bearer",
                "description": "`Bearer <token>`: the same tokens, in the standard OAuth 2.0 bearer form.",
            },
        ]


class MultiValueFilterExtension(DjangoFilterExtension):
    """The one multi-value convention (core/filters.py) in the schema: a list filter, and ``ordering``, is an
    array sent exploded (``partner=GHA&partner=SEN``, what generated clients send), documented as also
    taking commas."""

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        if not getattr(filter_field, "multi_value", False):
            return super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        if isinstance(filter_field, MultiValueFilter):
            items = {"type": "string"}
        else:
            choices = [value for value, _label in filter_field.extra.get("choices") or filter_field.field.choices]
            items = {"type": "string", "enum": [value for value in choices if value not in ("", None)]}
        described = [str(text) for text in (filter_field.extra.get("help_text"), MULTI_VALUE_NOTE) if text]
        if isinstance(filter_field, StableOrderingFilter):
            described = [str(_("Sort keys; a leading '-' sorts descending.")), str(MULTI_VALUE_NOTE)]
        return [
            build_parameter_type(
                name=field_name,
                required=filter_field.extra["required"],
                location=OpenApiParameter.QUERY,
                description=" ".join(described),
                schema={"type": "array", "items": items},
                explode=True,
                style="form",
            )
        ]
