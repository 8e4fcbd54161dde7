"""Every password check the origin makes, in order: the evidence the differential tests compare against."""
import threading

from django.contrib.auth.signals import user_logged_in, user_login_failed

_lock = threading.Lock()
_events = []


def _record(event, username, request):
    entry = {
        "event": event,
        "username": username,
        "method": getattr(request, "method", None),
        "path": getattr(request, "path", None),
    }
    with _lock:
        _events.append(entry)


def _logged_in(sender, request, user, **kwargs):
    _record("success", user.get_username(), request)


def _login_failed(sender, credentials, request=None, **kwargs):
    # authenticate() has already replaced the password with asterisks in `credentials`.
    username = credentials.get("username")
    _record("failure", username if isinstance(username, str) else None, request)


def connect():
    user_logged_in.connect(_logged_in, dispatch_uid="authlog-success")
    user_login_failed.connect(_login_failed, dispatch_uid="authlog-failure")


def events():
    with _lock:
        return list(_events)


def clear():
    with _lock:
        _events.clear()
