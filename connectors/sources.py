"""Which marketplaces to read, from sources.yaml, and their credentials.

```yaml
sources:
  - name: shop-us                 # the `source` column everywhere in the warehouse
    kind: shopify                 # shopify | woocommerce
    base_url: https://shop-us.myshopify.com
    api_version: "2025-07"        # shopify only
    catalog: true                 # this shop's catalogue is the product master (default: first shopify)
    rate_limit: {bucket: 40, leak_per_second: 2}   # shopify only; Plus shops have more
    credentials:
      access_token: {env: SHOPIFY_SHOP_US_TOKEN}   # or {block: shop-us-token}: a Prefect Secret block,
      #   or {block: shopops-marketplace-credentials/shop-us}: its access_token field
  - name: woo-eu
    kind: woocommerce
    base_url: https://shop.example.eu
    stock_pool: shop-eu           # replenishment: whose stock its orders draw on (default: itself)
    credentials:
      consumer_key: {env: WOO_EU_KEY}
      consumer_secret: {env: WOO_EU_SECRET}
  - name: amazon-de
    kind: amazon                  # Selling Partner API, Orders v0
    base_url: https://sellingpartnerapi-eu.amazon.com
    marketplace_ids: [A1PA6795UKMFR9]
    # token_url: https://api.amazon.com/auth/o2/token   (Login with Amazon; the default)
    # usage_plans: {getOrders: [0.0167, 20], getOrderItems: [0.5, 30]}   (rate per second, burst)
    credentials:
      refresh_token: {env: AMAZON_DE_REFRESH_TOKEN}
      client_id: {env: AMAZON_APP_CLIENT_ID}
      client_secret: {env: AMAZON_APP_CLIENT_SECRET}
  - name: erp-eu                  # exports dropped in a folder (see tasks/normalize/file_drop.py)
    kind: file_drop
    path: drops/erp-eu            # relative to this file's folder; processed/ and failed/ go inside
    timezone: Europe/Paris        # for times written without an offset (default UTC)
    currency: EUR                 # when the files have no currency column
    columns: {external_id: OrderID, updated_at: Modified, created_at: Created, status: Status,
              total: Total, sku: SKU, quantity: Qty, unit_price: Price}
    statuses: {Shipped: fulfilled, Open: paid, Void: cancelled}
```

Secrets are looked up when a connector is built, never stored in the config object.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KINDS = {"shopify": ("access_token",), "woocommerce": ("consumer_key", "consumer_secret"),
         "amazon": ("refresh_token", "client_id", "client_secret"), "file_drop": ()}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    base_url: str
    credentials: dict[str, dict[str, str]]
    options: dict[str, Any] = field(default_factory=dict)

    def secret(self, key: str) -> str:
        return resolve_secret(self.name, key, self.credentials.get(key))


def parse_sources(data: Any, origin: str = "sources", base_dir: Path | None = None) -> list[SourceConfig]:
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ConfigError(f"{origin}: expected a mapping with a `sources:` list")
    sources, seen = [], set()
    for position, entry in enumerate(data["sources"], start=1):
        where = f"{origin}, source #{position}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        name, kind, base_url = entry.get("name"), entry.get("kind"), entry.get("base_url")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}: `name` must be lower-case letters, digits, - or _ (got {name!r})")
        if name in seen:
            raise ConfigError(f"{where}: the name {name!r} is used twice")
        if kind not in KINDS:
            raise ConfigError(f"{where} ({name}): `kind` must be one of {sorted(KINDS)} (got {kind!r})")
        if kind == "file_drop":
            if not isinstance(entry.get("path"), str) or not entry["path"]:
                raise ConfigError(f"{where} ({name}): a file_drop source needs `path`, the folder files are dropped in")
            entry = {**entry, "path": str((base_dir or Path.cwd()) / Path(entry["path"]).expanduser())}
            base_url = Path(entry["path"]).as_uri()
        elif not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{where} ({name}): `base_url` must be an http(s) URL")
        credentials = entry.get("credentials") or {}
        for key in KINDS[kind]:
            ref = credentials.get(key)
            if not (isinstance(ref, dict) and len(ref) == 1 and set(ref) <= {"env", "block"}):
                raise ConfigError(
                    f"{where} ({name}): credentials.{key} must be {{env: VARIABLE}} or {{block: NAME}}"
                )
        options = {k: v for k, v in entry.items() if k not in {"name", "kind", "base_url", "credentials"}}
        sources.append(SourceConfig(name, kind, base_url.rstrip("/"), credentials, options))
        seen.add(name)
    return sources


def load_sources(path: Path, names: list[str] | None = None) -> list[SourceConfig]:
    if not path.exists():
        raise ConfigError(
            f"No sources file at {path}. Create it (see connectors/sources.py for the format) or "
            "set SHOPOPS_SOURCES_FILE; `shopops demo` writes one for the sandbox."
        )
    sources = parse_sources(yaml.safe_load(path.read_text()), origin=str(path), base_dir=path.parent)
    if names:
        unknown = sorted(set(names) - {s.name for s in sources})
        if unknown:
            raise ConfigError(f"{path}: no source named {', '.join(unknown)} (have: {', '.join(s.name for s in sources)})")
        sources = [s for s in sources if s.name in names]
    return sources


def catalog_source(sources: list[SourceConfig]) -> str | None:
    """The shop whose catalogue is the product master: the one marked `catalog: true`, else the first Shopify shop."""
    marked = [s.name for s in sources if s.options.get("catalog")]
    if marked:
        return marked[0]
    shopify = [s.name for s in sources if s.kind == "shopify"]
    return shopify[0] if shopify else None


def resolve_secret(source: str, key: str, ref: dict[str, str] | None) -> str:
    if not ref:
        raise ConfigError(f"{source}: no credentials.{key} configured")
    if "env" in ref:
        value = os.environ.get(ref["env"])
        if not value:
            raise ConfigError(f"{source}: credentials.{key} reads environment variable {ref['env']}, which is not set")
        return value
    if "/" in ref["block"]:  # "shopops-marketplace-credentials/NAME": the field named like the key
        return _credentials_block_field(source, key, ref["block"])
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(ref["block"]).get()
    except ValueError as exc:
        raise ConfigError(f"{source}: credentials.{key} reads Prefect Secret block {ref['block']!r}: {exc}") from None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: Prefect Secret block {ref['block']!r} is empty or not a string")
    return value


def _credentials_block_field(source: str, key: str, name: str) -> str:
    from prefect.blocks.core import Block

    try:
        block = Block.load(name)
    except ValueError as exc:
        raise ConfigError(f"{source}: credentials.{key} reads Prefect block {name!r}: {exc}") from None
    value = getattr(block, key, None)
    secret = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    if not isinstance(secret, str) or not secret:
        raise ConfigError(f"{source}: Prefect block {name!r} has no {key}")
    return secret
