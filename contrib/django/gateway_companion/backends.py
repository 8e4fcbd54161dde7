"""An authentication backend that authenticates nobody: it only notes that a password check began."""

from typing import Any

from django.contrib.auth.backends import BaseBackend

from .signals import checks_for


class PasswordCheckBackend(BaseBackend):
    """Put first in AUTHENTICATION_BACKENDS so that successful checks without login() are reported too.

    Django sends a signal when authenticate() fails and when login() succeeds, but none when
    authenticate() succeeds on its own, as it does for every request to an API that reads
    `Authorization: Basic`. This backend marks the check as begun; the middleware then reports a
    success if the code assigned the user it found to request.user.
    """

    def authenticate(self, request: Any, **credentials: Any) -> None:
        checks = checks_for(request)
        if checks is not None:
            checks.started()
        return None
