"""Collects the password checks of the current request from Django's authentication signals and turns
the last one into the X-Login-Result header value.

A check is found by the request it names (Django passes it to authenticate() and login()), or else by
the context variable the login-result middleware sets for the request in progress, so a check made
without a request object (authenticate(username=..., password=...)) is still reported, in threads
and in async code alike (the context variable holds a mutable record, shared by copied contexts).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Optional
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed

# The attribute the middleware sets on the request it tracks.
REQUEST_ATTRIBUTE = "_gateway_password_checks"

_MISSING = object()


class PasswordChecks:
    """The password checks of one request; the last one decides the header."""

    __slots__ = ("request", "_verdict", "_pending", "_user_before")

    def __init__(self, request: Any):
        self.request = request
        self._verdict: Optional[tuple[str, Optional[str]]] = None
        self._pending = False
        self._user_before: Any = _MISSING

    def started(self) -> None:
        """A password check began (seen by PasswordCheckBackend); its outcome is not known yet."""
        # The new check is the last one: an earlier outcome no longer decides the header.
        self._verdict = None
        self._pending = True
        self._user_before = getattr(self.request, "user", _MISSING)

    def failed(self, username: Optional[str]) -> None:
        """authenticate() found no user for credentials naming `username` (None when they name none)."""
        self._verdict = ("failure", username)
        self._pending = False

    def succeeded(self, username: str) -> None:
        """login() signed in the user whose USERNAME_FIELD value is `username`."""
        self._verdict = ("success", username)
        self._pending = False

    def header_value(self) -> Optional[str]:
        """The X-Login-Result value for the checks so far, or None when no outcome is known."""
        verdict = self._verdict
        if self._pending:
            # authenticate() succeeded (it sends no signal then) without login(): an API
            # authenticating per request. The user it found is the one the code assigned to
            # request.user after the check began (Django REST framework does this for every
            # authentication class); anything else would be a guess, so nothing is reported.
            user = getattr(self.request, "user", _MISSING)
            if user is not self._user_before and getattr(user, "is_authenticated", False) is True:
                verdict = ("success", str(user.get_username()))
        if verdict is None:
            return None
        result, username = verdict
        return result if not username else f"{result}; username={quote(username, safe='')}"


_current: ContextVar[Optional[PasswordChecks]] = ContextVar("gateway_password_checks", default=None)


def begin(request: Any) -> tuple[PasswordChecks, Any]:
    """Starts tracking `request`; returns its record and the token for end()."""
    checks = PasswordChecks(request)
    setattr(request, REQUEST_ATTRIBUTE, checks)
    return checks, _current.set(checks)


def end(token: Any) -> None:
    """Stops tracking the request begin() returned `token` for."""
    _current.reset(token)


def checks_for(request: Any) -> Optional[PasswordChecks]:
    """The record of the request a check belongs to: the one it names, else the one in progress."""
    # getattr also reaches through wrappers that proxy attributes, such as Django REST framework's Request.
    named = getattr(request, REQUEST_ATTRIBUTE, None) if request is not None else None
    return named if isinstance(named, PasswordChecks) else _current.get()


def credentials_username(credentials: dict) -> Optional[str]:
    """The username the credentials name (USERNAME_FIELD, else "username"), or None."""
    value = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username")
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    """user_login_failed receiver: records a failure under the credentials' username."""
    checks = checks_for(request)
    if checks is not None:
        checks.failed(credentials_username(credentials))


def on_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """user_logged_in receiver: records a success under the user's USERNAME_FIELD value."""
    checks = checks_for(request)
    if checks is not None:
        checks.succeeded(str(user.get_username()))


def connect_receivers() -> None:
    """Connects the receivers (idempotent: they carry a dispatch_uid)."""
    user_login_failed.connect(on_login_failed, dispatch_uid="gateway_companion.login_failed")
    user_logged_in.connect(on_logged_in, dispatch_uid="gateway_companion.logged_in")
