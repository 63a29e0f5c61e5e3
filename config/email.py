"""``EMAIL_URL`` into Django's e-mail settings (like ``DATABASE_URL``; no secret in the repository).

    smtp://user:password@host:587?tls=1   SMTP, STARTTLS (``smtp+tls://`` says the same)
    smtps://user:password@host:465        SMTP over TLS from the first byte
    console://                            print the messages (the default with DJANGO_DEBUG=1)
    locmem://  dummy://                   keep in memory / drop (tests)
    file:///var/mail/tracker              one file per message

The user name and password are URL-encoded (``%40`` for ``@``). Unset: the console in debug, else SMTP on
localhost:25.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}
_TRUE = {"1", "true", "yes", "on"}


def email_settings(url: str, *, debug: bool) -> dict:
    if not url:
        url = "console://" if debug else "smtp://localhost:25"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return {"EMAIL_BACKEND": _BACKENDS["file"], "EMAIL_FILE_PATH": unquote(parts.path)}
    if scheme in ("console", "locmem", "dummy"):
        return {"EMAIL_BACKEND": _BACKENDS[scheme]}
    if scheme not in ("smtp", "smtps", "smtp+tls"):
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtps://, smtp+tls://, console://, locmem://, dummy:// or file://, "
            f"got {scheme or 'nothing'}://."
        )
    query = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    try:
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured("EMAIL_URL has a port that is not a number.") from exc
    ssl = scheme == "smtps" or query.get("ssl") in _TRUE
    tls = scheme == "smtp+tls" or query.get("tls") in _TRUE
    if ssl and tls:
        raise ImproperlyConfigured("EMAIL_URL asks for both ssl and tls; choose one.")
    return {
        "EMAIL_BACKEND": _BACKENDS["smtp"],
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": port or (465 if ssl else 587 if tls else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": ssl,
        "EMAIL_USE_TLS": tls,
        "EMAIL_TIMEOUT": int(query.get("timeout", "20")),
    }
