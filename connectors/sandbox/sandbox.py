"""The Sandbox: generated data + HTTP server on loopback + clock + fault switches + ground truth,
and the competitor websites of the price monitor, each on its own port (its own origin)."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .app import SandboxApp
from .catalogue import DAY, SUPPLIERS
from .clock import SandboxClock
from .competitor_exports import CompetitorTruth, competitor_catalogue, pricing_rules_csv_frame
from .competitor_market import build_sites
from .competitor_site import CompetitorSite
from .config import SandboxConfig, as_utc
from .credentials import (AGENT_EMAIL, SERVICE_ENV_NAMES, SMS_FROM, SMTP_USERNAME, SUPPORT_DESK, SURVEY_SENDER,
                          credential_env_names, service_secrets, store_secrets)
from .faults import FaultBoard
from .generator import build_world, pricing_rng
from .notifications import CHANNEL, NotificationSink
from .pricing_rules import build_pricing_rules
from .promotion_render import PromotionTruth, calendar_frame
from .server import SandboxServer, SiteServer
from .services import FAULT_TARGETS, SupportServices
from .stats import RequestStats
from .stock_exports import StockBook, write_csv
from .support_truth import SupportTruth, SurveyTruth
from .truth import Truth

SHOPIFY_API_VERSION = "2025-07"
SUPPLY_COLUMNS = ["sku", "supplier", "pack_size", "moq", "lead_time_days", "lead_time_std_days"]


class Sandbox:
    """`with Sandbox(config) as sb:` serves every store of `config` on http://host:port, and every
    competitor site on a port of its own: `competitor_port` + its position in `config.competitors`,
    or a free port each when `competitor_port` is 0."""

    def __init__(self, config: SandboxConfig, host: str = "127.0.0.1", port: int = 0, verbose: bool = False,
                 competitor_port: int = 0, smtp_port: int = 0) -> None:
        self.config = config
        self.world = build_world(config)
        self.clock = SandboxClock(config.initial_now)
        # Faults are armed by name, for a store or a competitor site alike.
        self.faults = FaultBoard([store.name for store in config.stores] + [site.name for site in config.competitors]
                                 + list(FAULT_TARGETS))
        self._stats = RequestStats()
        self._address = (host, port)
        self._verbose = verbose
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self._notifications = NotificationSink()
        self._stock = StockBook(config, self.world)  # ledgers and purchase orders, built on first use
        # The support desk, SMS provider, SMTP server (on smtp_port, 0 = a free one) and survey provider.
        self._services = SupportServices(config, self.world, self.clock, lambda: self.url, host, smtp_port)
        self._app = SandboxApp(config, self.world, self.clock, self.faults, self._stats, lambda: self.url,
                               self._notifications, self._stock, self._services)
        self._sku_codes = np.array(self.world.catalogue.sku_codes, dtype=object)
        self._competitors = build_sites(config, self.world.catalogue)  # what each sells, prices, stock
        self._sites = {name: CompetitorSite(data, self.clock, self.faults) for name, data in self._competitors.items()}
        self._competitor_port = competitor_port
        self._site_servers: dict[str, tuple[SiteServer, threading.Thread]] = {}
        self._pricing_rules = build_pricing_rules(pricing_rng(config), self.world.catalogue)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._server is None:
            self._server = SandboxServer(self._address, self._app, self._verbose)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="shopops-sandbox", daemon=True)
            self._thread.start()
            try:
                self._start_sites()
                self._services.smtp.start()
            except OSError:  # a competitor's or the SMTP port is taken: leave nothing half-running
                self.stop()
                raise
        return self

    def _start_sites(self) -> None:
        host = self._address[0]
        for position, (name, site) in enumerate(self._sites.items()):
            port = self._competitor_port + position if self._competitor_port else 0
            server = SiteServer((host, port), site, self._verbose)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"shopops-sandbox-{name}", daemon=True)
            thread.start()
            self._site_servers[name] = (server, thread)

    def stop(self) -> None:
        self._services.smtp.stop()
        running = list(self._site_servers.values())
        if self._server is not None:
            running.append((self._server, self._thread))
        # shutdown() waits for the serve loop's next poll (0.1 s): ask every server at once, not in turn.
        stoppers = [threading.Thread(target=server.shutdown) for server, _ in running]
        for stopper in stoppers:
            stopper.start()
        for stopper, (server, thread) in zip(stoppers, running):
            stopper.join()
            server.server_close()
            thread.join()
        self._site_servers.clear()
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what clients need --------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; use `with Sandbox(config) as sb:` or sb.start()")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def sources(self) -> list[dict]:
        """One entry per store, shaped like a sources.yaml entry; secrets by env var name."""
        entries = []
        for store in self.config.stores:
            entry = {"name": store.name, "kind": store.kind, "base_url": f"{self.url}/{store.kind}/{store.name}"}
            if store.kind == "shopify":
                entry["api_version"] = SHOPIFY_API_VERSION
            else:  # a WooCommerce or Amazon store has no stock API here: it ships from a Shopify shop's stock
                entry["stock_pool"] = self.config.stock_pool_for(store)
            if store.kind == "amazon":
                entry["token_url"] = f"{entry['base_url']}/auth/o2/token"
                entry["marketplace_ids"] = [self._app.amazon[store.name].marketplace_id]
            entry["credentials"] = {field: {"env": env} for field, env in credential_env_names(store).items()}
            entries.append(entry)
        return entries

    def credentials(self) -> dict[str, str]:
        """Env var name -> secret, for every store and for the support desk and survey services."""
        values = {}
        for store in self.config.stores:
            secrets = store_secrets(self.config.seed, store)
            values.update({env: secrets[field] for field, env in credential_env_names(store).items()})
        secrets = service_secrets(self.config.seed)
        for service, names in SERVICE_ENV_NAMES.items():
            values.update({env: secrets[service][field] for field, env in names.items()})
        return values

    def stats(self) -> dict:
        return self._stats.snapshot()

    def truth(self, store: str) -> Truth:
        return Truth(self.world.stores[self.config.store(store).name], self.clock, self._stock)

    def write_supply_csv(self, path: str | Path) -> Path:
        """The purchasing team's supplier catalogue: one row per SKU."""
        catalogue = self.world.catalogue
        frame = pd.DataFrame({
            "sku": catalogue.sku_codes,
            "supplier": [SUPPLIERS[s] for s in catalogue.product_supplier[catalogue.product].tolist()],
            "pack_size": catalogue.pack_size,
            "moq": catalogue.moq,
            "lead_time_days": catalogue.lead_time_days,
            "lead_time_std_days": catalogue.lead_time_std_days,
        }, columns=SUPPLY_COLUMNS)
        path = Path(path)
        frame.to_csv(path, index=False)
        return path

    def _day(self, moment: datetime | None) -> int:
        """The UTC epoch day of `moment`, default the sandbox clock's now."""
        seconds = self.clock.epoch_seconds() if moment is None else int(as_utc(moment).timestamp())
        return seconds // DAY

    def write_stock_history_csv(self, path: str | Path, until: datetime | None = None) -> Path:
        """The ERP's closing stock per day, Shopify shop (stock_pool), location and SKU, from the first
        history day to the UTC day of `until` (default: the clock's now; at most the anchor's day)."""
        return write_csv(self._stock.stock_history(self._stock.shops(), self._day(until)), path)

    def write_purchase_orders_csv(self, path: str | Path, as_of: datetime | None = None) -> Path:
        """The purchasing system's export as it stood on the UTC day of `as_of` (default: the clock's now)."""
        return write_csv(self._stock.purchase_orders(self._stock.shops(), self._day(as_of)), path)

    # -- promotions ---------------------------------------------------------------------------
    def write_promotion_calendar(self, path: str | Path) -> Path:
        """The promotion calendar the team keeps (CSV): one row per promotion of every store."""
        path = Path(path)
        calendar_frame(list(self.world.stores.values())).to_csv(path, index=False)
        return path

    def promotion_truth(self) -> PromotionTruth:
        """Every promotion with its served ids, its true effect and what it realised (see the README)."""
        return PromotionTruth(self.world.stores)

    # -- competitor websites (the price monitor's) ----------------------------------------------
    def competitor_sites(self) -> dict[str, str]:
        """Competitor name -> its base URL ("http://127.0.0.1:41234"), one origin per site."""
        return {name: self._competitor_url(name) for name in self._sites}

    def _competitor_url(self, name: str) -> str:
        self.config.competitor(name)  # a KeyError naming the competitors
        if name not in self._site_servers:
            raise RuntimeError("the sandbox is not running; use `with Sandbox(config) as sb:` or sb.start()")
        host, port = self._site_servers[name][0].server_address[:2]
        return f"http://{host}:{port}"

    def competitor_requests(self, name: str) -> list[dict]:
        """Every request the site received, oldest first: time (time.monotonic() on arrival), method,
        path (with the query), user_agent, status, conditional (If-None-Match or If-Modified-Since sent)."""
        self.config.competitor(name)
        return self._sites[name].requests()

    def competitor_truth(self) -> CompetitorTruth:
        """What the competitor pages show (competitor_prices), each site's facts, our pricing rules."""
        return CompetitorTruth(self.config, self._competitors, self.clock, self._competitor_url, self._sku_codes,
                               self._pricing_rules)

    def write_competitor_catalogue_csv(self, path: str | Path) -> Path:
        """sku,competitor,url,price_selector: every (our SKU, competitor) pair the competitor sells,
        robots-disallowed and broken pages included; price_selector only for a site without structured data."""
        return write_csv(competitor_catalogue(self.config, self._competitors, self._competitor_url, self._sku_codes), path)

    def write_pricing_rules_csv(self, path: str | Path) -> Path:
        """sku,role,min_margin,member_price: one row per SKU of our catalogue (empty = the product's default)."""
        return write_csv(pricing_rules_csv_frame(self._pricing_rules, self._sku_codes), path)

    # -- support desk and surveys --------------------------------------------------------------
    def support_settings(self) -> dict:
        """Where the support desk, SMS provider, SMTP server and survey provider are, shaped for the
        config; secrets by env var name (their values are in credentials())."""
        def credentials(service: str) -> dict:
            return {field: {"env": env} for field, env in SERVICE_ENV_NAMES[service].items()}
        services = self._services
        surveys = services.survey_base()
        return {
            "desk": {"kind": "zendesk", "base_url": f"{self.url}/zendesk/{SUPPORT_DESK}", "agent_email": AGENT_EMAIL,
                     "credentials": credentials("desk")},
            "sms": {"kind": "twilio", "base_url": f"{self.url}/twilio", "account_sid": services.twilio.account_sid,
                    "from": SMS_FROM, "credentials": credentials("sms")},
            "smtp": self.smtp_settings(),
            "surveys": {"kind": "provider", "base_url": surveys, "link_base": surveys,
                        "credentials": credentials("surveys")},
        }

    def smtp_settings(self) -> dict:
        """host, port, username, starttls, ca_file (the PEM of the CA that signed the server's certificate,
        for ssl.create_default_context(cafile=...)), from, credentials."""
        smtp = self._services.smtp
        return {"host": smtp.host, "port": smtp.port, "username": SMTP_USERNAME, "starttls": True,
                "ca_file": smtp.ca_file, "from": SURVEY_SENDER,
                "credentials": {field: {"env": env} for field, env in SERVICE_ENV_NAMES["smtp"].items()}}

    def sent_emails(self) -> list[dict]:
        """Every message the SMTP server accepted, oldest first: received_at (sandbox clock), mail_from,
        rcpt_tos, from, to, subject, headers ([name, value] pairs), text, html, tls, auth_user, size."""
        return self._services.smtp.messages()

    def sms_messages(self) -> list[dict]:
        """Every message the SMS provider accepted, oldest first: its 201 body plus received_at."""
        return self._services.twilio.messages()

    def support_truth(self) -> SupportTruth:
        """The desk's tickets and chats as generated and as the exports show them (see the README)."""
        return SupportTruth(self._services.desk, self.clock)

    def survey_truth(self) -> SurveyTruth:
        """Every survey response the respondents gave or will give, and every invitation that arrived."""
        return SurveyTruth(self._services.respondents, self._services.book, self.clock)

    # -- notifications (a webhook sink) -------------------------------------------------------
    def notification_url(self, channel: str = "purchasing") -> str:
        """Where a webhook should POST; what arrives is in notifications(channel)."""
        if not CHANNEL.fullmatch(channel):
            raise ValueError(f"channel {channel!r}: use lower-case letters, digits and '-'")
        return f"{self.url}/_sandbox/notifications/{channel}"

    def notifications(self, channel: str | None = None) -> list[dict]:
        """Everything received (or that channel's), oldest first: channel, received_at, content_type, body."""
        return self._notifications.received(channel)


def serve_forever(config: SandboxConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the sandbox in the foreground until interrupted (the `shopops sandbox` command)."""
    # Fixed ports after the marketplaces' (8766, 8767, ...), so the competitor URLs are stable too.
    # The SMTP server after them (8771 with the five default sites).
    with Sandbox(config, host, port, verbose=True, competitor_port=port + 1 if port else 0,
                 smtp_port=port + 1 + len(config.competitors) if port else 0) as sandbox:
        print(f"shopops sandbox on {sandbox.url} (clock {sandbox.clock.now().isoformat()})", flush=True)
        for source in sandbox.sources():
            print(f"  {source['name']:<12} {source['kind']:<12} {source['base_url']}", flush=True)
        for name, url in sandbox.competitor_sites().items():
            print(f"  {name:<12} {'competitor':<12} {url}", flush=True)
        settings = sandbox.support_settings()
        for name in ("desk", "sms", "surveys"):
            print(f"  {name:<12} {settings[name]['kind']:<12} {settings[name]['base_url']}", flush=True)
        smtp = settings["smtp"]
        print(f"  {'smtp':<12} {'starttls':<12} {smtp['host']}:{smtp['port']} (CA {smtp['ca_file']})", flush=True)
        for env, value in sandbox.credentials().items():
            print(f"  export {env}={value}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
