"""App config: connects the authentication signals and registers the system checks."""

from django.apps import AppConfig


class GatewayCompanionConfig(AppConfig):
    """The companion app; add "gateway_companion" to INSTALLED_APPS."""

    name = "gateway_companion"
    verbose_name = "Gateway companion"

    def ready(self):
        # Imported here so that the signal receivers and checks register once the app registry is ready.
        from . import checks, signals

        signals.connect_receivers()
        checks.register_checks()
