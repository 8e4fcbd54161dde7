"""The companion's test project's URLs, plus the test-only logs: password checks and view calls."""
from django.http import JsonResponse
from django.urls import path
from origin import views as origin_views
from tests import views as project_views
from tests.urls import urlpatterns as project_urls


def view_calls(request):
    """Every path that reached a view (the __test endpoints included), in order."""
    return JsonResponse({"calls": list(project_views.VIEW_CALLS)})


urlpatterns = [
    *project_urls,
    path("__test/auth-log", origin_views.auth_log),
    path("__test/auth-log/clear", origin_views.auth_log_clear),
    path("__test/view-calls", view_calls),
]
