"""
Three ways Django sites commonly log users in, each calling authenticate() the way real code does:
Django's own LoginView (AuthenticationForm), a plain form view reading request.POST, a view that
takes the username from the query string first, and a JSON API that parses the body whatever its
Content-Type and method. Plus the test-only auth log.
"""
import json

from django.contrib.auth import authenticate, login
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import authlog

FORM = b'<form method="post"><input name="username"><input name="password" type="password"></form>'


def _form_login(request, username, password):
    if username is None or password is None:
        return HttpResponse("username and password are required\n", status=400)
    user = authenticate(request, username=username, password=password)
    if user is None:
        return HttpResponse(b"invalid username or password\n" + FORM)
    login(request, user)
    return HttpResponseRedirect("/done/")


@csrf_exempt
def plain_login(request):
    """request.POST only: answers 302 on success and 200 (the form again) on failure, as Django forms do."""
    if request.method != "POST":
        return HttpResponse(FORM)
    return _form_login(request, request.POST.get("username"), request.POST.get("password"))


@csrf_exempt
def query_first_login(request):
    """Like plain_login, but a username in the query string wins (views that merge GET and POST)."""
    if request.method != "POST":
        return HttpResponse(FORM)
    return _form_login(request, request.GET.get("username", request.POST.get("username")), request.POST.get("password"))


@csrf_exempt
def json_login(request):
    """json.loads(request.body) on any method and any Content-Type: 200 on success, 401 on failure."""
    try:
        data = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "malformed JSON"}, status=400)
    if not isinstance(data, dict) or not isinstance(data.get("username"), str) or not isinstance(data.get("password"), str):
        return JsonResponse({"error": "username and password are required"}, status=400)
    user = authenticate(request, username=data["username"], password=data["password"])
    if user is None:
        return JsonResponse({"error": "invalid username or password"}, status=401)
    login(request, user)
    return JsonResponse({"username": user.get_username()})


def done(request):
    who = request.user.get_username() if request.user.is_authenticated else ""
    return HttpResponse(f"signed in as {who}\n")


@csrf_exempt
def auth_log(request):
    """GET: every password check so far ({event, username, method, path}), oldest first."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return JsonResponse({"events": authlog.events()})


@csrf_exempt
def auth_log_clear(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    authlog.clear()
    return JsonResponse({"cleared": True})
