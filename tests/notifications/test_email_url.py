import pytest
from django.core.exceptions import ImproperlyConfigured

from config.email import email_settings


def test_smtp_with_user_password_host_and_port():
    parsed = email_settings("smtp://mailer:p%40ss@mail.example.org:2525", debug=False)
    assert parsed["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (parsed["EMAIL_HOST"], parsed["EMAIL_PORT"]) == ("mail.example.org", 2525)
    assert (parsed["EMAIL_HOST_USER"], parsed["EMAIL_HOST_PASSWORD"]) == ("mailer", "p@ss")
    assert not parsed["EMAIL_USE_TLS"] and not parsed["EMAIL_USE_SSL"]


def test_tls_and_ssl_and_default_ports():
    assert email_settings("smtp+tls://relay", debug=False)["EMAIL_PORT"] == 587
    assert email_settings("smtp://relay?tls=1", debug=False)["EMAIL_USE_TLS"] is True
    ssl = email_settings("smtps://relay", debug=False)
    assert ssl["EMAIL_USE_SSL"] is True and ssl["EMAIL_PORT"] == 465
    with pytest.raises(ImproperlyConfigured):
        email_settings("smtps://relay?tls=1", debug=False)


def test_defaults_console_in_debug_smtp_otherwise():
    assert email_settings("", debug=True)["EMAIL_BACKEND"].endswith("console.EmailBackend")
    assert email_settings("", debug=False)["EMAIL_HOST"] == "localhost"
    assert email_settings("file:///var/mail/tracker", debug=False)["EMAIL_FILE_PATH"] == "/var/mail/tracker"


def test_unknown_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured):
        email_settings("http://mail", debug=False)
