"""The origin-secret middleware: only the gateway reaches a view."""

import hmac
from unittest import mock

from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from gateway_companion.middleware import FORBIDDEN_MESSAGE

from .support import PASSWORD, SECRET, GatewayTestCase, basic
from .views import VIEW_CALLS

NEW_SECRET = "new-origin-secret-abcdefghijkl"


class OriginSecretTests(GatewayTestCase):
    def assertRefused(self, response):
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(response.content.decode(), FORBIDDEN_MESSAGE)
        self.assertEqual(VIEW_CALLS, [])

    def test_a_request_without_the_secret_never_reaches_a_view(self):
        direct = Client()
        self.assertRefused(direct.get("/public/"))
        self.assertRefused(direct.post("/accounts/login/", {"username": "bob", "password": PASSWORD}))
        self.assertRefused(direct.post("/admin/login/", {"username": "alice", "password": PASSWORD}))
        self.assertRefused(direct.post("/allauth/login/", {"login": "alice", "password": PASSWORD}))
        self.assertRefused(direct.get("/api/drf/", HTTP_AUTHORIZATION=basic("alice", PASSWORD)))
        self.assertRefused(direct.get("/api/basic/", HTTP_AUTHORIZATION=basic("alice", PASSWORD)))

    def test_a_wrong_secret_is_refused(self):
        for wrong in ["", SECRET[:-1], SECRET + "x", SECRET.upper(), " " + SECRET, "é" * 20]:
            with self.subTest(wrong=wrong):
                self.assertRefused(Client(HTTP_X_GATEWAY_SECRET=wrong).get("/public/"))

    def test_a_refused_login_checks_no_password_and_reports_nothing(self):
        response = Client().post("/accounts/login/", {"username": "bob", "password": "wrong"})
        self.assertRefused(response)
        self.assertNotIn("X-Login-Result", response)

    def test_the_right_secret_reaches_the_view_which_never_sees_it(self):
        response = self.client.get("/public/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"gateway_verified": True, "secret_visible": False})
        self.assertEqual(VIEW_CALLS, ["/public/"])

    def test_health_paths_are_served_without_the_secret(self):
        direct = Client()
        self.assertEqual(direct.get("/healthz").status_code, 200)
        self.assertEqual(direct.get("/healthz/db").status_code, 200)
        self.assertEqual(VIEW_CALLS, ["/healthz", "/healthz/db"])
        # A prefix covers the path and what is below it, not every path that starts with the same letters.
        self.assertEqual(direct.get("/healthzz").status_code, 403)
        self.assertEqual(VIEW_CALLS, ["/healthz", "/healthz/db"])

    @override_settings(GATEWAY_ORIGIN_SECRET_HEADER="X-Origin-Key")
    def test_the_header_name_is_configurable(self):
        self.assertEqual(Client(HTTP_X_ORIGIN_KEY=SECRET).get("/public/").status_code, 200)
        self.assertEqual(Client(HTTP_X_GATEWAY_SECRET=SECRET).get("/public/").status_code, 403)

    @override_settings(GATEWAY_ORIGIN_SECRET=None, GATEWAY_ORIGIN_SECRETS=[NEW_SECRET, SECRET])
    def test_rotation_accepts_every_listed_secret(self):
        self.assertEqual(Client(HTTP_X_GATEWAY_SECRET=NEW_SECRET).get("/public/").status_code, 200)
        self.assertEqual(Client(HTTP_X_GATEWAY_SECRET=SECRET).get("/public/").status_code, 200)
        self.assertEqual(Client(HTTP_X_GATEWAY_SECRET="retired-secret-0123456789").get("/public/").status_code, 403)

    @override_settings(GATEWAY_ORIGIN_SECRET=NEW_SECRET)
    def test_a_replaced_secret_is_refused(self):
        self.assertEqual(Client(HTTP_X_GATEWAY_SECRET=NEW_SECRET).get("/public/").status_code, 200)
        self.assertEqual(Client(HTTP_X_GATEWAY_SECRET=SECRET).get("/public/").status_code, 403)

    @override_settings(GATEWAY_ORIGIN_SECRET=SECRET, GATEWAY_ORIGIN_SECRETS=[NEW_SECRET])
    def test_secrets_are_compared_in_constant_time_every_one_of_them(self):
        with mock.patch("gateway_companion.middleware.hmac.compare_digest", wraps=hmac.compare_digest) as compare:
            self.assertEqual(Client(HTTP_X_GATEWAY_SECRET=SECRET).get("/public/").status_code, 200)
        # Both secrets are compared even though the first one matched, as bytes.
        self.assertEqual(compare.call_args_list, [mock.call(SECRET.encode(), SECRET.encode()), mock.call(SECRET.encode(), NEW_SECRET.encode())])

    @override_settings(GATEWAY_ORIGIN_SECRET="", GATEWAY_ORIGIN_SECRETS=None)
    def test_without_a_secret_the_check_is_off_and_nothing_is_verified(self):
        response = Client(HTTP_X_GATEWAY_SECRET=SECRET).get("/public/")
        self.assertEqual(response.json(), {"gateway_verified": False, "secret_visible": False})
        self.assertEqual(Client().get("/public/").status_code, 200)


class OriginSecretSettingsTests(GatewayTestCase):
    """Invalid settings stop the server at startup (the first request builds the middleware chain here)."""

    def assertImproperlyConfigured(self, setting, **settings):
        with override_settings(**settings), self.assertRaisesMessage(ImproperlyConfigured, setting):
            Client().get("/public/")
        self.assertEqual(VIEW_CALLS, [])

    def test_invalid_settings_name_the_setting(self):
        self.assertImproperlyConfigured("GATEWAY_ORIGIN_SECRET must", GATEWAY_ORIGIN_SECRET="short")
        self.assertImproperlyConfigured("GATEWAY_ORIGIN_SECRET must", GATEWAY_ORIGIN_SECRET="with spaces in the secret")
        self.assertImproperlyConfigured("GATEWAY_ORIGIN_SECRET must", GATEWAY_ORIGIN_SECRET=b"bytes-secret-0123456789")
        self.assertImproperlyConfigured("GATEWAY_ORIGIN_SECRETS must", GATEWAY_ORIGIN_SECRETS="one-string-not-a-list-0123")
        self.assertImproperlyConfigured("GATEWAY_ORIGIN_SECRETS must", GATEWAY_ORIGIN_SECRETS=[SECRET, "short"])
        self.assertImproperlyConfigured("GATEWAY_ORIGIN_SECRET_HEADER", GATEWAY_ORIGIN_SECRET_HEADER="X Gateway")
        self.assertImproperlyConfigured("GATEWAY_HEALTH_PATHS", GATEWAY_HEALTH_PATHS="/healthz")
        self.assertImproperlyConfigured("GATEWAY_HEALTH_PATHS", GATEWAY_HEALTH_PATHS=["healthz"])
        self.assertImproperlyConfigured("GATEWAY_HEALTH_PATHS", GATEWAY_HEALTH_PATHS=["/"])
