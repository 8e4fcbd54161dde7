"""
The companion's own test project (contrib/django/tests), served as an origin behind the gateway for
the end-to-end tests of issue 10: the admin, LoginView, django-allauth, Django REST framework's
Basic API and a hand-written Basic API, all on a case-insensitive backend, with the companion's
middleware checking the gateway's origin secret. Plus the differential origin's log of every
password check (the `origin` app). Never a production configuration.
"""
import os
import tempfile

from tests.settings import *  # noqa: F401,F403 -- the companion's test project, as its README installs it
from tests.settings import INSTALLED_APPS

ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "companion_urls"
INSTALLED_APPS = [*INSTALLED_APPS, "origin"]

# The gateway's ORIGIN_SECRET in the tests (test/worker/companion.test.ts sends the same value).
GATEWAY_ORIGIN_SECRET = "e2e-origin-secret-0123456789abcdef"
# The test-only log endpoints are read directly by the tests, not through the gateway.
GATEWAY_HEALTH_PATHS = ["/healthz", "/__test"]

# "ALICE" and "alıce" sign in as alice, as on many sites (a username__iexact lookup).
AUTHENTICATION_BACKENDS = [
    "gateway_companion.backends.PasswordCheckBackend",
    "tests.backends.CaseInsensitiveModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Threads share one file database (server.py removes its folder on exit).
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(tempfile.mkdtemp(prefix="django-companion-"), "db.sqlite3"),
    }
}
