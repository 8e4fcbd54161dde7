"""The origin-secret settings, read and validated in one place so that the middleware and the system
checks can never disagree about what is configured."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# RFC 9110 token characters, the same rule the gateway applies to ORIGIN_SECRET_HEADER.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# The gateway's own rule for ORIGIN_SECRET: at least 16 printable ASCII characters without spaces.
SECRET_TEXT = re.compile(r"[\x21-\x7e]{16,}")

SECRET_EXAMPLE = 'GATEWAY_ORIGIN_SECRET = os.environ["GATEWAY_ORIGIN_SECRET"]  # e.g. from `openssl rand -base64 32`'


@dataclass(frozen=True)
class OriginSecretSettings:
    """GATEWAY_ORIGIN_SECRET(S), GATEWAY_ORIGIN_SECRET_HEADER and GATEWAY_HEALTH_PATHS, validated."""

    #: Every secret currently accepted (encoded); empty when the check is off.
    secrets: tuple[bytes, ...]
    #: The header the gateway sends, as configured (e.g. "X-Gateway-Secret").
    header: str
    #: The same header as a request.META key (e.g. "HTTP_X_GATEWAY_SECRET").
    meta_key: str
    #: Paths served without the secret: each one exactly, and everything below it.
    health_paths: tuple[str, ...]

    @property
    def enabled(self) -> bool:
        """Whether requests must carry a secret."""
        return bool(self.secrets)


def _invalid(setting: str, problem: str, example: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{setting} {problem}; for example: {example}")


def _read_secrets() -> tuple[bytes, ...]:
    single = getattr(settings, "GATEWAY_ORIGIN_SECRET", None)
    several = getattr(settings, "GATEWAY_ORIGIN_SECRETS", None)
    if single is not None and not isinstance(single, str):
        raise _invalid("GATEWAY_ORIGIN_SECRET", "must be a string", SECRET_EXAMPLE)
    if several is not None and not isinstance(several, (list, tuple)):
        raise _invalid(
            "GATEWAY_ORIGIN_SECRETS",
            "must be a list of strings",
            'GATEWAY_ORIGIN_SECRETS = [os.environ["NEW_SECRET"], os.environ["OLD_SECRET"]]',
        )
    named = ([("GATEWAY_ORIGIN_SECRET", single)] if single else []) + [
        ("GATEWAY_ORIGIN_SECRETS", secret) for secret in (several or [])
    ]
    secrets: list[bytes] = []
    for setting, secret in named:
        if not isinstance(secret, str) or not SECRET_TEXT.fullmatch(secret):
            raise _invalid(setting, "must hold at least 16 printable ASCII characters without spaces", SECRET_EXAMPLE)
        encoded = secret.encode("ascii")
        if encoded not in secrets:
            secrets.append(encoded)
    return tuple(secrets)


def _read_header() -> str:
    header = getattr(settings, "GATEWAY_ORIGIN_SECRET_HEADER", "X-Gateway-Secret")
    if not isinstance(header, str) or not HEADER_NAME.fullmatch(header):
        raise _invalid("GATEWAY_ORIGIN_SECRET_HEADER", "is not a valid header name", '"X-Gateway-Secret"')
    return header


def _read_health_paths() -> tuple[str, ...]:
    paths = getattr(settings, "GATEWAY_HEALTH_PATHS", [])
    example = 'GATEWAY_HEALTH_PATHS = ["/healthz"]'
    if not isinstance(paths, (list, tuple)):
        raise _invalid("GATEWAY_HEALTH_PATHS", "must be a list of paths", example)
    for path in paths:
        if not isinstance(path, str) or not path.startswith("/") or path == "/":
            raise _invalid("GATEWAY_HEALTH_PATHS", f"holds {path!r}, which is not a path below /", example)
    return tuple(paths)


def origin_secret_settings() -> OriginSecretSettings:
    """Reads the settings, raising ImproperlyConfigured (naming the setting, with an example) when one is invalid."""
    header = _read_header()
    return OriginSecretSettings(
        secrets=_read_secrets(),
        header=header,
        meta_key="HTTP_" + header.upper().replace("-", "_"),
        health_paths=_read_health_paths(),
    )
