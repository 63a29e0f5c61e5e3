"""An administrator manages webhooks in Chromium: finds them in the navigation, is told beside the field why
a private address is refused, creates one (its generated secret shown once), sends a test event and reads
its answer in the delivery log; the pages have no serious accessibility violation."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import axe_violations, screenshot, unlabelled_fields
from tests.webhooks.receiver import readme_verifier, running_receiver
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_admin_creates_a_webhook_and_sends_a_test_event(make_user, reference_data, login, settings):
    make_user("admin-hooks", "admin")
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with running_receiver() as receiver:
        page = login("admin-hooks")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
        expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
        assert axe_violations(page) == []
        page.get_by_role("link", name="New webhook").click()
        assert unlabelled_fields(page) == []

        page.get_by_label("URL").fill("http://169.254.169.254/latest/meta-data/")
        page.get_by_label("Engagement created").check()
        page.get_by_role("button", name="Create webhook").click()
        error = page.locator('.field-error[data-for="id_url"]')
        expect(error).to_contain_text("private, loopback or link-local")
        assert axe_violations(page) == []
        assert not Webhook.objects.exists()

        page.get_by_label("URL").fill(receiver.url)
        page.get_by_role("button", name="Create webhook").click()
        secret = page.get_by_label("Secret").input_value()
        webhook = Webhook.objects.get()
        assert secret == webhook.secret and len(secret) >= 40
        screenshot(page, "webhook-created")

        page.get_by_role("link", name="Go to its delivery log").click()
        assert secret not in page.content()
        page.get_by_role("button", name="Send a test event").click()
        row = page.locator("table.data tbody tr").first
        expect(row).to_contain_text("webhook.test")
        expect(row).to_contain_text("200")
        assert axe_violations(page) == []
        screenshot(page, "webhook-log")

    [got] = receiver.received
    _snippet, verified = readme_verifier()
    assert verified(secret, got["headers"]["X-Engagement-Signature"], got["raw"])
