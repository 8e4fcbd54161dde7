"""X-Login-Result on every flow that checks a password, and on none that does not."""

import json
from asyncio import iscoroutinefunction

from django.contrib.auth import get_user_model
from django.test import AsyncClient, override_settings

from .support import PASSWORD, SECRET, GatewayTestCase, basic
from .views import VIEW_CALLS

CASE_INSENSITIVE = [
    "gateway_companion.backends.PasswordCheckBackend",
    "tests.backends.CaseInsensitiveModelBackend",
]


class LoginFlowCases:
    """The cases every flow must pass; a subclass says how to attempt a login and what it answers."""

    username = "alice"
    success_status = 302
    failure_status = 200
    #: A request to the flow that checks no password (the login page, the API without credentials).
    unchecked = ""

    def attempt(self, username, password):
        raise NotImplementedError

    def test_success_names_the_user(self):
        response = self.attempt(self.username, PASSWORD)
        self.assertEqual(response.status_code, self.success_status)
        self.assertLoginResult(response, f"success; username={self.username}")

    def test_failure_names_the_username_sent(self):
        response = self.attempt(self.username, "wrong")
        self.assertEqual(response.status_code, self.failure_status)
        self.assertLoginResult(response, f"failure; username={self.username}")

    def test_failure_for_an_unknown_user(self):
        self.assertLoginResult(self.attempt("nobody", "wrong"), "failure; username=nobody")

    def test_a_request_that_checks_no_password_gets_no_header(self):
        self.assertLoginResult(self.client.get(self.unchecked), None)


class AdminLoginTests(LoginFlowCases, GatewayTestCase):
    unchecked = "/admin/login/"

    def attempt(self, username, password):
        return self.client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"})


class LoginViewTests(LoginFlowCases, GatewayTestCase):
    username = "bob"
    unchecked = "/accounts/login/"

    def attempt(self, username, password):
        return self.client.post("/accounts/login/", {"username": username, "password": password})

    def test_usernames_are_percent_encoded_utf8(self):
        self.assertLoginResult(self.attempt("jürgen", PASSWORD), "success; username=j%C3%BCrgen")
        self.assertLoginResult(self.attempt("a b;c=d,é", "wrong"), "failure; username=a%20b%3Bc%3Dd%2C%C3%A9")

    def test_the_username_is_the_one_django_read(self):
        # AuthenticationForm strips and NFKC-normalises: the header names what authenticate() was given.
        self.assertLoginResult(self.attempt(" ｂｏｂ ", "wrong"), "failure; username=bob")

    def test_a_form_without_password_checks_nothing(self):
        response = self.client.post("/accounts/login/", {"username": "bob"})
        self.assertEqual(response.status_code, 200)
        self.assertLoginResult(response, None)

    def test_a_session_user_is_not_a_password_check(self):
        self.client.force_login(get_user_model().objects.get(username="bob"))
        self.assertLoginResult(self.client.get("/public/"), None)


class AllauthLoginTests(LoginFlowCases, GatewayTestCase):
    unchecked = "/allauth/login/"

    def attempt(self, username, password):
        return self.client.post("/allauth/login/", {"login": username, "password": password})

    def test_a_case_variant_signs_in_and_names_the_user_found(self):
        # allauth looks usernames up case-insensitively: the gateway must count alice, not ALICE.
        response = self.attempt("ALICE", PASSWORD)
        self.assertEqual(response.status_code, 302)
        self.assertLoginResult(response, "success; username=alice")


class DrfBasicAuthenticationTests(LoginFlowCases, GatewayTestCase):
    success_status = 200
    failure_status = 401
    unchecked = "/api/drf/"

    def attempt(self, username, password):
        return self.client.get("/api/drf/", HTTP_AUTHORIZATION=basic(username, password))

    @override_settings(AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"])
    def test_without_the_probe_backend_only_failures_are_reported(self):
        # Django sends no signal for authenticate() succeeding on its own; this is what the backend is for.
        self.assertLoginResult(self.attempt("alice", PASSWORD), None)
        self.assertLoginResult(self.attempt("alice", "wrong"), "failure; username=alice")


class PlainBasicApiTests(LoginFlowCases, GatewayTestCase):
    """authenticate() called without a request object: the check is found through the context variable."""

    username = "bob"
    success_status = 200
    failure_status = 401
    unchecked = "/api/basic/"

    def attempt(self, username, password):
        return self.client.get("/api/basic/", HTTP_AUTHORIZATION=basic(username, password))

    def test_async_view_from_a_sync_stack(self):
        self.assertLoginResult(self.client.get("/api/async-basic/", HTTP_AUTHORIZATION=basic("bob", PASSWORD)), "success; username=bob")
        self.assertLoginResult(self.client.get("/api/async-basic/", HTTP_AUTHORIZATION=basic("bob", "x")), "failure; username=bob")

    async def assert_async_flow(self):
        # AsyncClient takes raw header names per request (its defaults go into the ASGI scope instead).
        client = AsyncClient()
        success = await client.get("/api/async-basic/", **{"x-gateway-secret": SECRET, "authorization": basic("bob", PASSWORD)})
        self.assertEqual(success.status_code, 200)
        self.assertLoginResult(success, "success; username=bob")
        failure = await client.get("/api/async-basic/", **{"x-gateway-secret": SECRET, "authorization": basic("bob", "wrong")})
        self.assertLoginResult(failure, "failure; username=bob")
        refused = await client.get("/api/async-basic/", **{"authorization": basic("bob", PASSWORD)})
        self.assertEqual(refused.status_code, 403)
        return client

    async def test_async_stack(self):
        await self.assert_async_flow()

    @override_settings(
        MIDDLEWARE=["gateway_companion.middleware.origin_secret_middleware", "gateway_companion.middleware.login_result_middleware"]
    )
    async def test_async_middleware(self):
        # With only async-capable middleware the chain runs async: the companion's async code path.
        client = await self.assert_async_flow()
        self.assertTrue(iscoroutinefunction(client.handler._middleware_chain))


@override_settings(AUTHENTICATION_BACKENDS=CASE_INSENSITIVE)
class CaseInsensitiveBackendTests(GatewayTestCase):
    def test_login_view_names_the_user_found(self):
        response = self.client.post("/accounts/login/", {"username": "ALICE", "password": PASSWORD})
        self.assertEqual(response.status_code, 302)
        self.assertLoginResult(response, "success; username=alice")

    def test_basic_api_names_the_user_found(self):
        self.assertLoginResult(self.client.get("/api/drf/", HTTP_AUTHORIZATION=basic("ALICE", PASSWORD)), "success; username=alice")
        self.assertLoginResult(self.client.get("/api/basic/", HTTP_AUTHORIZATION=basic("AlIcE", PASSWORD)), "success; username=alice")

    def test_failure_names_the_spelling_sent(self):
        response = self.client.post("/accounts/login/", {"username": "ALICE", "password": "wrong"})
        self.assertLoginResult(response, "failure; username=ALICE")


class SeveralChecksTests(GatewayTestCase):
    def checks(self, *credentials):
        return self.client.post("/checks/", json.dumps(credentials), content_type="application/json")

    def test_the_last_check_wins(self):
        self.assertLoginResult(
            self.checks({"username": "bob", "password": "wrong"}, {"username": "alice", "password": PASSWORD}),
            None,  # authenticate() alone, with no request.user assigned: no success is claimed
        )
        self.assertLoginResult(
            self.checks({"username": "alice", "password": PASSWORD}, {"username": "bob", "password": "wrong"}),
            "failure; username=bob",
        )
        self.assertLoginResult(
            self.checks({"username": "bob", "password": "wrong"}, {"username": "carol", "password": "wrong"}),
            "failure; username=carol",
        )

    def test_a_failure_without_username_has_no_parameter(self):
        self.assertLoginResult(self.checks({"password": "wrong"}), "failure")
        self.assertLoginResult(self.checks({"username": "", "password": "wrong"}), "failure")

    def test_the_username_field_or_username(self):
        # Credentials are cleansed of secrets by Django before the signal; the username survives.
        self.assertLoginResult(self.checks({"username": "dave", "password": "wrong", "api_key": "k"}), "failure; username=dave")

    def test_checks_of_one_request_do_not_leak_into_the_next(self):
        self.checks({"username": "bob", "password": "wrong"})
        self.assertLoginResult(self.client.get("/public/"), None)
        self.assertEqual(VIEW_CALLS, ["/checks/", "/public/"])
