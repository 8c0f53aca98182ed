"""The services the survey flow talks to, from the `services:` section of sources.yaml.

```yaml
services:
  desk:      {kind: zendesk, name: support, base_url: https://acme.zendesk.com, agent_email: ops@acme.com,
              credentials: {api_token: {env: ZENDESK_TOKEN}, chat_token: {env: ZENDESK_CHAT_TOKEN}}}
  sms:       {kind: twilio, base_url: https://api.twilio.com, account_sid: AC…, from: "+15550100",
              credentials: {auth_token: {env: TWILIO_AUTH_TOKEN}}}
  smtp:      {host: smtp.acme.com, port: 587, username: surveys, starttls: true, ca_file: null,
              from: surveys@acme.com, credentials: {password: {env: SMTP_PASSWORD}}}
  surveys:   {kind: provider, base_url: https://surveys.example/acme, link_base: https://surveys.example/acme,
              credentials: {api_token: {env: SURVEYS_TOKEN}}}
```

Credentials are `{env: NAME}` or `{block: NAME}` (a Prefect Secret block), resolved when used.
The links' signing key is a setting (SHOPOPS_SURVEY_SIGNING_KEY), not a service's credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.sources import ConfigError, resolve_secret

REQUIRED = {"desk": ("base_url", "agent_email"), "sms": ("base_url", "account_sid", "from"),
            "smtp": ("host", "port", "from"), "surveys": ("base_url", "link_base")}


@dataclass(frozen=True)
class ServiceConfig:
    role: str                      # desk | sms | smtp | surveys
    options: dict[str, Any]
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.options.get("name") or self.role)

    def secret(self, key: str) -> str:
        return resolve_secret(self.name, key, self.credentials.get(key))

    def has_secret(self, key: str) -> bool:
        return bool(self.credentials.get(key))


def load_services(path: Path) -> dict[str, ServiceConfig]:
    """The configured services by role ({} when the file has no `services:` section)."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    section = data.get("services") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: `services:` must be a mapping of desk / sms / smtp / surveys")
    services = {}
    for role, entry in section.items():
        if role not in REQUIRED:
            raise ConfigError(f"{path}: unknown service {role!r} (known: {', '.join(REQUIRED)})")
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: services.{role} must be a mapping")
        missing = [key for key in REQUIRED[role] if entry.get(key) in (None, "")]
        if missing:
            raise ConfigError(f"{path}: services.{role} needs {', '.join(missing)}")
        credentials = entry.get("credentials") or {}
        for key, ref in credentials.items():
            if not (isinstance(ref, dict) and len(ref) == 1 and set(ref) <= {"env", "block"}):
                raise ConfigError(f"{path}: services.{role}.credentials.{key} must be {{env: VARIABLE}} or {{block: NAME}}")
        options = {k: v for k, v in entry.items() if k != "credentials"}
        services[role] = ServiceConfig(role, options, credentials)
    return services
