"""Deterministic credentials and the environment variable names the sources read them from."""

from __future__ import annotations

import hashlib

from .config import StoreConfig


def _digest(seed: int, store: str, purpose: str) -> str:
    return hashlib.sha256(f"shopops-sandbox:{seed}:{store}:{purpose}".encode()).hexdigest()


def env_prefix(store: StoreConfig) -> str:
    return "SHOPOPS_SANDBOX_" + store.name.upper().replace("-", "_")


def credential_env_names(store: StoreConfig) -> dict[str, str]:
    """Field of the source's `credentials` -> environment variable holding it."""
    prefix = env_prefix(store)
    if store.kind == "shopify":
        return {"access_token": f"{prefix}_TOKEN"}
    if store.kind == "amazon":
        return {"refresh_token": f"{prefix}_REFRESH_TOKEN", "client_id": f"{prefix}_CLIENT_ID",
                "client_secret": f"{prefix}_CLIENT_SECRET"}
    return {"consumer_key": f"{prefix}_KEY", "consumer_secret": f"{prefix}_SECRET"}


def store_secrets(seed: int, store: StoreConfig) -> dict[str, str]:
    """Field -> secret value, shaped like the real platforms' keys."""
    if store.kind == "shopify":
        return {"access_token": "shpat_" + _digest(seed, store.name, "access_token")[:32]}
    if store.kind == "amazon":  # Login with Amazon: the app's client and the seller's refresh token
        return {
            "refresh_token": "Atzr|" + _digest(seed, store.name, "refresh_token"),
            "client_id": "amzn1.application-oa2-client." + _digest(seed, store.name, "client_id")[:32],
            "client_secret": "amzn1.oa2-cs.v1." + _digest(seed, store.name, "client_secret"),
        }
    return {
        "consumer_key": "ck_" + _digest(seed, store.name, "consumer_key")[:40],
        "consumer_secret": "cs_" + _digest(seed, store.name, "consumer_secret")[:40],
    }


def cursor_signing_key(seed: int, store: StoreConfig) -> bytes:
    return bytes.fromhex(_digest(seed, store.name, "page_info"))


# -- the support desk, SMS provider, SMTP server and survey provider (one of each per sandbox) ----------
SUPPORT_DESK = "support"
SURVEY_ACCOUNT = "shopops"
AGENT_EMAIL = "api-agent@shopops-support.example"
SMTP_USERNAME = "surveys@shopops.example"
SURVEY_SENDER = "surveys@shopops.example"
SMS_FROM = "+15555550100"
# Field of each service's `credentials` -> environment variable holding it (as credential_env_names).
SERVICE_ENV_NAMES = {
    "desk": {"api_token": "SHOPOPS_SANDBOX_SUPPORT_API_TOKEN", "chat_token": "SHOPOPS_SANDBOX_SUPPORT_CHAT_TOKEN"},
    "sms": {"auth_token": "SHOPOPS_SANDBOX_SMS_AUTH_TOKEN"},
    "smtp": {"password": "SHOPOPS_SANDBOX_SMTP_PASSWORD"},
    "surveys": {"api_token": "SHOPOPS_SANDBOX_SURVEYS_API_TOKEN"},
}


def service_secrets(seed: int) -> dict[str, dict[str, str]]:
    """Service -> field -> secret, shaped like the real providers' (Zendesk API token, Chat OAuth token,
    Twilio auth token, an SMTP password, a bearer token)."""
    return {
        "desk": {"api_token": _digest(seed, SUPPORT_DESK, "api_token")[:40],
                 "chat_token": _digest(seed, SUPPORT_DESK, "chat_token")},
        "sms": {"auth_token": _digest(seed, "sms", "auth_token")[:32]},
        "smtp": {"password": _digest(seed, "smtp", "password")[:24]},
        "surveys": {"api_token": "sv_" + _digest(seed, SURVEY_ACCOUNT, "api_token")[:40]},
    }


def sms_account_sid(seed: int) -> str:
    return "AC" + _digest(seed, "sms", "account_sid")[:32]


def service_signing_key(seed: int, service: str) -> bytes:
    """Signs the desk's export cursors and the survey provider's page tokens."""
    return bytes.fromhex(_digest(seed, service, "cursor"))
