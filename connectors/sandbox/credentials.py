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
    return {"consumer_key": f"{prefix}_KEY", "consumer_secret": f"{prefix}_SECRET"}


def store_secrets(seed: int, store: StoreConfig) -> dict[str, str]:
    """Field -> secret value, shaped like the real platforms' keys."""
    if store.kind == "shopify":
        return {"access_token": "shpat_" + _digest(seed, store.name, "access_token")[:32]}
    return {
        "consumer_key": "ck_" + _digest(seed, store.name, "consumer_key")[:40],
        "consumer_secret": "cs_" + _digest(seed, store.name, "consumer_secret")[:40],
    }


def cursor_signing_key(seed: int, store: StoreConfig) -> bytes:
    return bytes.fromhex(_digest(seed, store.name, "page_info"))
