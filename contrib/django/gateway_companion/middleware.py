"""The two middleware: the origin-secret check (first in MIDDLEWARE) and the login-result header (right
after it). Both work in sync and async stacks."""

from __future__ import annotations

import hmac
from typing import Any, Callable, Optional

from django.http import HttpResponse, HttpResponseForbidden
from django.utils.decorators import sync_and_async_middleware

from . import LOGIN_RESULT_HEADER, signals
from .conf import OriginSecretSettings, origin_secret_settings

try:  # asgiref >= 3.6; asyncio's version is deprecated from Python 3.14
    from asgiref.sync import iscoroutinefunction
except ImportError:  # pragma: no cover - older asgiref (Django 3.2 on older distributions)
    from asyncio import iscoroutinefunction

FORBIDDEN_MESSAGE = "Forbidden: requests must come through the gateway"


def presented_secret_matches(presented: str, secrets: tuple[bytes, ...]) -> bool:
    """Whether `presented` (a request.META value) equals one of `secrets`, compared in constant time."""
    try:
        # WSGI and ASGI handlers decode header bytes as latin-1: encoding back gives the bytes sent.
        value = presented.encode("latin-1")
    except UnicodeEncodeError:
        return False
    matched = False
    # Every secret is compared, so the time taken does not tell which one (if any) matched.
    for secret in secrets:
        matched |= hmac.compare_digest(value, secret)
    return matched


def is_health_path(path: str, health_paths: tuple[str, ...]) -> bool:
    """Whether `path` is one of `health_paths` or below one ("/healthz" covers "/healthz/db", not "/healthzz")."""
    return any(path == prefix or path.startswith(prefix.rstrip("/") + "/") for prefix in health_paths)


def refusal(config: OriginSecretSettings, request: Any) -> Optional[HttpResponse]:
    """Marks request.gateway_verified and returns the 403 for a request that must be refused, else None."""
    # Removed so that views, logs and error reports never see the secret.
    presented = request.META.pop(config.meta_key, None)
    request.gateway_verified = bool(config.enabled and presented is not None and presented_secret_matches(presented, config.secrets))
    if request.gateway_verified or not config.enabled or is_health_path(request.path_info, config.health_paths):
        return None
    return HttpResponseForbidden(FORBIDDEN_MESSAGE, content_type="text/plain; charset=utf-8")


@sync_and_async_middleware
def origin_secret_middleware(get_response: Callable) -> Callable:
    """Refuses (403) requests without a valid GATEWAY_ORIGIN_SECRET(S) header, except on GATEWAY_HEALTH_PATHS.

    Settings are read once, here: invalid ones raise ImproperlyConfigured when the server starts.
    """
    config = origin_secret_settings()

    if iscoroutinefunction(get_response):

        async def origin_secret_async(request: Any) -> Any:
            refused = refusal(config, request)
            return refused if refused is not None else await get_response(request)

        return origin_secret_async

    def origin_secret(request: Any) -> Any:
        refused = refusal(config, request)
        return refused if refused is not None else get_response(request)

    return origin_secret


def _annotate(response: Any, checks: signals.PasswordChecks) -> Any:
    value = checks.header_value()
    if value is not None:
        response[LOGIN_RESULT_HEADER] = value
    return response


@sync_and_async_middleware
def login_result_middleware(get_response: Callable) -> Callable:
    """Sets `X-Login-Result: success|failure; username=…` on the response of any request that checked a password."""
    if iscoroutinefunction(get_response):

        async def login_result_async(request: Any) -> Any:
            checks, token = signals.begin(request)
            try:
                response = await get_response(request)
            finally:
                signals.end(token)
            return _annotate(response, checks)

        return login_result_async

    def login_result(request: Any) -> Any:
        checks, token = signals.begin(request)
        try:
            response = get_response(request)
        finally:
            signals.end(token)
        return _annotate(response, checks)

    return login_result
