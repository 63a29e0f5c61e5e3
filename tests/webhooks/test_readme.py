"""The README's signature check ("Webhooks": ten lines of Python) run as it is written against a real
delivery: if the signing or the documentation changes alone, this fails."""

from __future__ import annotations

import time

import pytest

from tests.webhooks.receiver import readme_verifier
from webhooks.services import signature_header, webhook_create, webhook_test_send

pytestmark = pytest.mark.django_db

SECRET = "readme-secret-0123456789"


def test_the_readme_snippet_is_at_most_ten_lines_of_code():
    snippet, _verified = readme_verifier()
    code = [line for line in snippet.splitlines() if line.strip()]
    assert len(code) <= 10, snippet


def test_the_readme_snippet_verifies_a_real_delivery(
    admin_user_role, receiver, eager, django_capture_on_commit_callbacks
):
    _snippet, verified = readme_verifier()
    hook = webhook_create(owner=admin_user_role, url=receiver.url, events=["run.finished"], secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_test_send(webhook=hook, user=admin_user_role)
    [got] = receiver.received
    header, raw = got["headers"]["X-Engagement-Signature"], got["raw"]
    assert verified(SECRET, header, raw)
    assert not verified("another-secret-entirely", header, raw)
    assert not verified(SECRET, header, raw.replace(b"webhook.test", b"webhook.TEST"))
    assert not verified(SECRET, header, raw + b" ")  # the raw bytes, not a re-encoding, are signed
    assert not verified(SECRET, "v1=abc", raw) and not verified(SECRET, "garbage", raw)
    old = signature_header(secret=SECRET, body=raw, timestamp=int(time.time()) - 3600)
    assert not verified(SECRET, old, raw)  # a replay an hour later
