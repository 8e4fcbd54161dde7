"""System checks (`manage.py check`, run by runserver and migrate): a misconfiguration is named before
the first request, and an origin anyone can reach is a warning, not a silent default."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .conf import origin_secret_settings

ORIGIN_MIDDLEWARE = "gateway_companion.middleware.origin_secret_middleware"
RESULT_MIDDLEWARE = "gateway_companion.middleware.login_result_middleware"
PROBE_BACKEND = "gateway_companion.backends.PasswordCheckBackend"
AXES_CALLABLE = "gateway_companion.axes.skip_gateway_requests"


def check_origin_secret(app_configs: Any = None, **kwargs: Any) -> list:
    """E001 invalid settings, W001 no secret, W002/W003 the middleware missing or not first."""
    try:
        config = origin_secret_settings()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="gateway_companion.E001")]
    found: list = []
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if not config.enabled:
        found.append(
            checks.Warning(
                "GATEWAY_ORIGIN_SECRET is not set: the origin-secret check is off, and anyone who can reach this "
                "server directly bypasses the gateway's lockouts.",
                hint="Set GATEWAY_ORIGIN_SECRET to the gateway's ORIGIN_SECRET.",
                id="gateway_companion.W001",
            )
        )
    elif ORIGIN_MIDDLEWARE not in middleware:
        found.append(
            checks.Warning(
                "GATEWAY_ORIGIN_SECRET is set but the middleware that checks it is not in MIDDLEWARE.",
                hint=f"Put {ORIGIN_MIDDLEWARE!r} first in MIDDLEWARE.",
                id="gateway_companion.W002",
            )
        )
    elif middleware[0] != ORIGIN_MIDDLEWARE:
        found.append(
            checks.Warning(
                "The origin-secret middleware is not first in MIDDLEWARE: the middleware above it run for "
                "requests that will be refused.",
                hint=f"Move {ORIGIN_MIDDLEWARE!r} to the top of MIDDLEWARE.",
                id="gateway_companion.W003",
            )
        )
    return found


def check_login_result(app_configs: Any = None, **kwargs: Any) -> list:
    """W004 no login-result middleware, W005 no PasswordCheckBackend, W006 django-axes counting twice."""
    found: list = []
    if RESULT_MIDDLEWARE not in list(getattr(settings, "MIDDLEWARE", None) or []):
        found.append(
            checks.Warning(
                "The login-result middleware is not in MIDDLEWARE: the gateway gets no X-Login-Result header.",
                hint=f"Add {RESULT_MIDDLEWARE!r} right after the origin-secret middleware.",
                id="gateway_companion.W004",
            )
        )
    if PROBE_BACKEND not in list(getattr(settings, "AUTHENTICATION_BACKENDS", None) or []):
        found.append(
            checks.Info(
                "PasswordCheckBackend is not in AUTHENTICATION_BACKENDS: successful checks without login() "
                "(HTTP Basic APIs) are not reported.",
                hint=f"Put {PROBE_BACKEND!r} first in AUTHENTICATION_BACKENDS.",
                id="gateway_companion.I005",
            )
        )
    if "axes" in getattr(settings, "INSTALLED_APPS", []) and getattr(settings, "AXES_ENABLED", True):
        whitelist = getattr(settings, "AXES_WHITELIST_CALLABLE", None)
        if whitelist != AXES_CALLABLE and getattr(whitelist, "__module__", None) != "gateway_companion.axes":
            found.append(
                checks.Warning(
                    "django-axes is enabled as well as the gateway: every failure through the gateway is counted "
                    "twice, locking clients out at about half the limit.",
                    hint=f"Set AXES_WHITELIST_CALLABLE = {AXES_CALLABLE!r}, or AXES_ENABLED = False.",
                    id="gateway_companion.W006",
                )
            )
    return found


def register_checks() -> None:
    """Registers the checks (idempotent: the registry is a set)."""
    checks.register(check_origin_secret)
    checks.register(check_login_result)
