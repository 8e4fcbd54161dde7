"""System checks name a misconfiguration before the first request."""

from django.test import SimpleTestCase, override_settings

from gateway_companion.checks import check_login_result, check_origin_secret

from .settings import AUTHENTICATION_BACKENDS, MIDDLEWARE


def ids(messages):
    return [message.id for message in messages]


class CheckTests(SimpleTestCase):
    def test_the_test_project_passes(self):
        self.assertEqual(ids(check_origin_secret() + check_login_result()), [])

    @override_settings(GATEWAY_ORIGIN_SECRET="")
    def test_no_secret_is_a_warning(self):
        self.assertEqual(ids(check_origin_secret()), ["gateway_companion.W001"])

    @override_settings(GATEWAY_ORIGIN_SECRET="short")
    def test_invalid_settings_are_an_error(self):
        (error,) = check_origin_secret()
        self.assertEqual(error.id, "gateway_companion.E001")
        self.assertIn("GATEWAY_ORIGIN_SECRET", error.msg)

    @override_settings(MIDDLEWARE=MIDDLEWARE[1:])
    def test_the_secret_middleware_missing(self):
        self.assertEqual(ids(check_origin_secret()), ["gateway_companion.W002"])

    @override_settings(MIDDLEWARE=[MIDDLEWARE[1], MIDDLEWARE[0], *MIDDLEWARE[2:]])
    def test_the_secret_middleware_not_first(self):
        self.assertEqual(ids(check_origin_secret()), ["gateway_companion.W003"])

    @override_settings(MIDDLEWARE=[MIDDLEWARE[0], *MIDDLEWARE[2:]], AUTHENTICATION_BACKENDS=AUTHENTICATION_BACKENDS[1:])
    def test_the_login_result_parts_missing(self):
        self.assertEqual(ids(check_login_result()), ["gateway_companion.W004", "gateway_companion.I005"])

    @override_settings(AXES_ENABLED=True, AXES_WHITELIST_CALLABLE=None)
    def test_axes_counting_twice(self):
        self.assertEqual(ids(check_login_result()), ["gateway_companion.W006"])

    @override_settings(AXES_ENABLED=True)
    def test_axes_with_the_whitelist_callable(self):
        self.assertEqual(ids(check_login_result()), [])
