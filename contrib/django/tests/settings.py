"""A small Django project for the companion's tests: the admin, LoginView, django-allauth, Django REST
framework and plain views, with the companion installed the way its README says."""

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "tests.urls"
USE_TZ = True

# The value the tests' client sends; the gateway's ORIGIN_SECRET in a real deployment.
GATEWAY_ORIGIN_SECRET = "test-origin-secret-0123456789"
GATEWAY_HEALTH_PATHS = ["/healthz"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",  # its template tags are used by allauth's login page
    "rest_framework",
    "axes",
    "gateway_companion",
    "tests",
]

MIDDLEWARE = [
    "gateway_companion.middleware.origin_secret_middleware",
    "gateway_companion.middleware.login_result_middleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tests.views.count_view_calls",
]

AUTHENTICATION_BACKENDS = [
    "gateway_companion.backends.PasswordCheckBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

LOGIN_REDIRECT_URL = "/public/"
SITE_ID = 1
ACCOUNT_AUTHENTICATION_METHOD = "username"
ACCOUNT_EMAIL_VERIFICATION = "none"
# allauth's own per-cache attempt limit would refuse the tests' repeated failures.
ACCOUNT_LOGIN_ATTEMPTS_LIMIT = None

# The axes tests turn it on; its signal receivers stay idle otherwise.
AXES_ENABLED = False
AXES_WHITELIST_CALLABLE = "gateway_companion.axes.skip_gateway_requests"
AXES_FAILURE_LIMIT = 2
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False
# The axes tests add AxesStandaloneBackend themselves; axes' middleware (its lockout page) is not under test.
SILENCED_SYSTEM_CHECKS = ["axes.W002", "axes.W003"]
