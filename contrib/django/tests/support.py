"""Shared test fixtures: a client that comes through the gateway, the users, and assertions."""

import base64

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, TestCase

from gateway_companion import LOGIN_RESULT_HEADER

from .views import VIEW_CALLS

SECRET = settings.GATEWAY_ORIGIN_SECRET
PASSWORD = "correct horse battery staple"


class GatewayClient(Client):
    """A test client whose every request carries the origin secret, as the gateway's do."""

    def __init__(self, **defaults):
        super().__init__(HTTP_X_GATEWAY_SECRET=SECRET, **defaults)


def basic(username, password):
    """An Authorization header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class GatewayTestCase(TestCase):
    """Users alice (staff), bob and jürgen, all with PASSWORD; VIEW_CALLS emptied before each test."""

    client_class = GatewayClient

    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        User.objects.create_user("alice", password=PASSWORD, is_staff=True)
        User.objects.create_user("bob", password=PASSWORD)
        User.objects.create_user("jürgen", password=PASSWORD)

    def setUp(self):
        VIEW_CALLS.clear()

    def assertLoginResult(self, response, expected):
        """The response's X-Login-Result header is `expected` (None: the header is absent)."""
        self.assertEqual(response.get(LOGIN_RESULT_HEADER), expected)
