"""django-axes integration: axes skips what the gateway already counted."""

from typing import Any, Optional


def skip_gateway_requests(request: Any, credentials: Optional[dict] = None) -> bool:
    """AXES_WHITELIST_CALLABLE: True for a request that carried a valid origin secret.

    The gateway counts every failure of such a request itself, so axes counting it too would lock
    clients out at half the limit. Requests that did not come through the gateway (only possible
    when the origin-secret check is off, or on a health path) are still counted by axes.
    """
    return getattr(request, "gateway_verified", False) is True
