"""drf-spectacular's AutoSchema plus the API's error answers, documented on every operation."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from core.api.serializers import ErrorSerializer

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
        {"detail": "No Engagement matches the given query.", "code": "not_found"},
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


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        anonymous = not self.get_auth() or self.get_auth() == [{}]
        for code, (description, example) in ERROR_RESPONSES.items():
            if code in responses or (anonymous and code in ("401", "403")):
                continue
            response = OpenApiResponse(
                ErrorSerializer,
                description=description,
                examples=[OpenApiExample(f"error {code}", value=example, status_codes=[code])],
            )
            responses[code] = self._get_response_for_code(response, code, direction=direction)
            if code == "429":
                responses[code]["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}
                }
        return responses
