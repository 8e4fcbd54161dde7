"""django-axes next to the gateway: a failure that came through the gateway is not counted twice."""

from axes.models import AccessAttempt
from django.test import Client, override_settings

from .support import PASSWORD, GatewayTestCase

AXES_BACKENDS = [
    "gateway_companion.backends.PasswordCheckBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]


@override_settings(AXES_ENABLED=True, AUTHENTICATION_BACKENDS=AXES_BACKENDS)
class AxesTests(GatewayTestCase):
    def login(self, client, password):
        return client.post("/accounts/login/", {"username": "bob", "password": password})

    def test_failures_through_the_gateway_are_left_to_the_gateway(self):
        for _ in range(3):  # AXES_FAILURE_LIMIT is 2
            self.assertLoginResult(self.login(self.client, "wrong"), "failure; username=bob")
        self.assertEqual(AccessAttempt.objects.count(), 0)
        response = self.login(self.client, PASSWORD)
        self.assertEqual(response.status_code, 302)
        self.assertLoginResult(response, "success; username=bob")

    @override_settings(GATEWAY_ORIGIN_SECRET="")
    def test_direct_requests_are_still_counted_by_axes(self):
        # Only possible with the origin-secret check off: then axes is the only counter.
        self.assertLoginResult(self.login(Client(), "wrong"), "failure; username=bob")
        self.assertEqual(AccessAttempt.objects.get(username="bob").failures_since_start, 1)
        self.login(Client(), "wrong")
        locked = self.login(Client(), PASSWORD)
        self.assertNotEqual(locked.status_code, 302)
        self.assertLoginResult(locked, "failure; username=bob")
