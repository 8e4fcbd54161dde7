"""Views of the test project. Every view call is recorded in VIEW_CALLS (by count_view_calls), so a
test can prove that a refused request never reached one."""

import base64
import binascii
import json

from asgiref.sync import sync_to_async
from django.contrib.auth import authenticate
from django.http import HttpResponse, JsonResponse
from rest_framework.authentication import BasicAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

#: The path of every request that reached a view, in order.
VIEW_CALLS = []


def count_view_calls(get_response):
    """Innermost middleware: records each view about to run."""

    def middleware(request):
        return get_response(request)

    def process_view(request, view_func, view_args, view_kwargs):
        VIEW_CALLS.append(request.path)

    middleware.process_view = process_view
    return middleware


def public(request):
    """Checks no password; tells what it saw of the gateway."""
    return JsonResponse(
        {
            "gateway_verified": request.gateway_verified,
            "secret_visible": any("GATEWAY_SECRET" in key for key in request.META),
        }
    )


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def _basic_credentials(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, password


def _unauthorized():
    response = HttpResponse("Unauthorized", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Basic realm="api"'
    return response


def basic_api(request):
    """A hand-written Basic API: authenticate() without a request object, then request.user."""
    credentials = _basic_credentials(request)
    if credentials is None:
        return _unauthorized()
    user = authenticate(username=credentials[0], password=credentials[1])
    if user is None:
        return _unauthorized()
    request.user = user
    return JsonResponse({"user": user.get_username()})


async def async_basic_api(request):
    """The same API as an async view: the check runs in a worker thread, still without a request object."""
    credentials = _basic_credentials(request)
    if credentials is None:
        return _unauthorized()
    user = await sync_to_async(authenticate)(username=credentials[0], password=credentials[1])
    if user is None:
        return _unauthorized()
    request.user = user
    return JsonResponse({"user": user.get_username()})


class DrfBasicApi(APIView):
    """Django REST framework's BasicAuthentication on an API path."""

    authentication_classes = [BasicAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user": request.user.get_username()})


def several_checks(request):
    """Runs the authenticate() calls listed in the JSON body, in order (a re-check, a fallback login ...)."""
    found = []
    for credentials in json.loads(request.body):
        user = authenticate(request, **credentials)
        found.append(user.get_username() if user else None)
    return JsonResponse({"found": found})
