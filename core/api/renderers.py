"""Renderers shared by the API views."""

from rest_framework.renderers import JSONRenderer


class FileRenderer(JSONRenderer):
    """For views that answer with a file they build themselves (an export): any ``Accept`` header is taken,
    so a client asking for ``text/csv`` gets the file. What this renderer itself renders is an error, and
    it says so: JSON, labelled ``application/json`` whatever was accepted."""

    media_type = "*/*"
    format = "file"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return super().render(data, "application/json", renderer_context)
