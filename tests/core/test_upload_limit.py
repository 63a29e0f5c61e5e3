"""A request body over DJANGO_MAX_UPLOAD_MB is a 413 with a clear message, checked before it is read
(Content-Length) and while it is read (chunked, no Content-Length)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from engagements.models import Engagement
from tests.engagements.test_imports import csv_file, good_row

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
MESSAGE = "The upload is larger than 1 MB: split the file into several smaller files."


@pytest.fixture(autouse=True)
def one_megabyte(settings):
    settings.MAX_UPLOAD_BYTES = 1 * MB


def multipart(content: bytes, name: str = "engagements.csv") -> bytes:
    return encode_multipart(BOUNDARY, {"file": SimpleUploadedFile(name, content)})


def big_csv() -> bytes:
    return csv_file([good_row(description="x" * 9000)] * 200).getvalue()  # about 1.8 MB


def test_the_limit_comes_from_the_environment(monkeypatch):
    import importlib

    from config import settings as project_settings

    monkeypatch.setenv("DJANGO_MAX_UPLOAD_MB", "7")
    try:
        assert importlib.reload(project_settings).MAX_UPLOAD_BYTES == 7 * MB
        monkeypatch.delenv("DJANGO_MAX_UPLOAD_MB")
        assert importlib.reload(project_settings).MAX_UPLOAD_BYTES == 50 * MB
    finally:
        importlib.reload(project_settings)


def test_the_import_page_answers_413_with_a_message(client_for, planner):
    response = client_for(planner).post("/engagements/import/", {"file": SimpleUploadedFile("big.csv", big_csv())})
    assert response.status_code == 413
    assert MESSAGE in response.content.decode()
    assert '<p class="notice" role="alert">' in response.content.decode()


def test_the_api_answers_413_in_its_error_shape(api_for, planner):
    response = api_for(planner).post("/api/v1/engagements/import/", {"file": io.BytesIO(big_csv())}, format="multipart")
    assert response.status_code == 413
    assert response.json() == {"detail": MESSAGE, "code": "too_large"}


@pytest.mark.parametrize("path", ["/engagements/import/", "/api/v1/engagements/import/", "/accounts/login/"])
def test_a_declared_length_over_the_limit_is_refused_before_reading(client_for, planner, path):
    # The body is not there: reading it would fail the test client's payload check.
    response = client_for(planner).generic(
        "POST", path, b"x", content_type=MULTIPART_CONTENT, CONTENT_LENGTH=str(2 * MB)
    )
    assert response.status_code == 413


def chunked(client, path: str, body: bytes):
    """A chunked request as a WSGI server hands it on: no Content-Length, the body to read to its end."""
    return client.generic(
        "POST",
        path,
        CONTENT_TYPE=MULTIPART_CONTENT,
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(client_for, planner):
    client = client_for(planner)
    assert chunked(client, "/engagements/import/", multipart(big_csv())).status_code == 413
    response = chunked(client, "/api/v1/engagements/import/", multipart(big_csv()))
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_a_chunked_body_under_the_limit_is_read_whole(client_for, planner, reference_data):
    content = csv_file([good_row()]).getvalue()
    response = chunked(client_for(planner), "/api/v1/engagements/import/", multipart(content))
    assert response.status_code == 200 and response.json()["to_create"] == 1
    assert not Engagement.objects.exists()


def test_form_fields_over_djangos_limit_are_a_413_even_when_csrf_reads_them(planner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client(enforce_csrf_checks=True)
    client.force_login(planner)
    client.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32  # so the CSRF check goes on to read the form
    response = client.post("/engagements/new/", {"title": "x" * 5000})
    assert response.status_code == 413
    assert "The request body (files not counted) is larger than 1000\xa0bytes." in response.content.decode()


def test_a_json_body_over_djangos_limit_is_a_413_in_the_api(api_for, planner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_for(planner).post("/api/v1/engagements/", {"title": "x" * 5000}, format="json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body (files not counted) is larger than 1000\xa0bytes.",
        "code": "too_large",
    }


def test_too_many_fields_is_a_400_in_the_api_error_shape(api_for, planner, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = api_for(planner).post(
        "/api/v1/engagements/import/",
        "&".join(f"f{n}=1" for n in range(20)),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "non_field_errors" in response.json()["errors"]
