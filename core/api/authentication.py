"""API token authentication: django-rest-knox's hashed tokens, sent as ``Token <t>`` or ``Bearer <t>``."""

from __future__ import annotations

import binascii
from hmac import compare_digest

from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from core import services, user_facts


class ApiTokenAuthentication(TokenAuthentication):
    """knox's token check, plus the ``Bearer`` keyword, the password fingerprint and ``last_used``.

    A token found expired or made under an old password is deleted and refused, as knox does with expired
    ones; knox's sweep of the user's other tokens on every request (a query each time) is left out: the
    selectors hide dead tokens, and a password change made on the account page deletes them.
    """

    keywords = (b"token", b"bearer")

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in self.keywords:
            return None  # no token: session authentication may still apply
        if len(auth) == 1:
            raise exceptions.AuthenticationFailed(_("Invalid token header. No credentials provided."))
        if len(auth) > 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header. Token string should not contain spaces."))
        return self.authenticate_credentials(auth[1])

    def authenticate_credentials(self, token):
        from core.models import ApiToken

        invalid = _("Invalid token.")
        try:
            token = token.decode("utf-8")
            digest = hash_token(token)
        except (UnicodeDecodeError, TypeError, binascii.Error) as exc:
            raise exceptions.AuthenticationFailed(invalid) from exc
        candidates = ApiToken.objects.filter(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related("user")
        for auth_token in candidates:
            if not compare_digest(digest, auth_token.digest):
                continue
            if not auth_token.is_live():
                auth_token.delete()
                break
            user, auth_token = self.validate_user(auth_token)
            user_facts.prime(user)  # permissions and groups from the shared cache (core/user_facts.py)
            services.api_token_mark_used(token=auth_token)
            return user, auth_token
        raise exceptions.AuthenticationFailed(invalid)

    def authenticate_header(self, request):
        return "Token"
