"""Every tunable number of the product, in one place.

Each field is read from the environment as ``SHOPOPS_<NAME>`` (e.g. ``SHOPOPS_LOOKBACK_MINUTES``).
The defaults are the handbook's numbers; docs/settings.md explains each one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


DEVELOPMENT_SIGNING_KEY = b"shopops-development-survey-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPOPS_", extra="ignore")

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(
        default=Path(".shopops"),
        description="Folder for the SQLite warehouse, Data Docs and sandbox config.",
    )
    warehouse_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the warehouse; default sqlite:///<data_dir>/warehouse.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    warehouse_block: str | None = Field(
        default=None,
        description="Name of a `shopops-warehouse` Prefect block holding the URL (used when warehouse_url is empty).",
    )
    sources_file: Path | None = Field(
        default=None,
        description="YAML file listing the marketplace sources; default <data_dir>/sources.yaml.",
    )

    # --- incremental extraction -------------------------------------------------------
    lookback_minutes: int = Field(
        default=120,
        ge=0,
        description="Each incremental run starts this far before the committed cursor, to catch "
        "records the source made visible late.",
    )
    initial_history_days: int = Field(
        default=90, ge=1, description="Window of the first run of a source that has no cursor yet."
    )
    slice_hours: int = Field(
        default=24,
        ge=1,
        description="A window is fetched in slices of this length; the cursor advances at the "
        "end of each committed slice, so a crash refetches at most one slice.",
    )
    file_drop_settle_seconds: float = Field(
        default=60.0,
        ge=0,
        description="A dropped file is picked up once it has not changed for this long; one still "
        "being written is left for a later run.",
    )
    chunk_size: int = Field(
        default=25_000,
        ge=1,
        description="Orders per load transaction; memory follows this, not the window.",
    )

    ingest_task_runner: Literal["auto", "threads", "processes", "dask"] = Field(
        default="auto",
        description="How ingest-orders runs its per-source tasks: threads in the flow's process, or "
        "processes (the flow's process takes a share of the sources on its threads and "
        "ingest_worker_processes workers the rest; each worker pays ~3.5 s of start-up), or a Dask cluster "
        "(dask_address, or a local one; needs the `dask` extra); auto: processes for a window longer than "
        "ingest_processes_above_hours over several sources.",
    )
    ingest_processes_above_hours: float = Field(
        default=48, ge=0, description="With the auto task runner, windows longer than this run on processes."
    )
    ingest_worker_processes: int | None = Field(
        default=None, ge=1,
        description="Worker processes of the processes task runner; empty: one per core beyond the flow's own. "
        "As many as the sources: every source on its own worker.",
    )

    # --- HTTP -------------------------------------------------------------------------
    http_connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to open a connection.")
    http_read_timeout: float = Field(
        default=60.0, gt=0, description="Seconds to wait for the next byte of a response."
    )
    http_max_attempts: int = Field(default=8, ge=1, description="Tries per request, first one included.")
    http_backoff_base: float = Field(default=0.5, ge=0, description="Seconds; doubles per retry, with jitter.")
    http_backoff_max: float = Field(default=60.0, ge=0, description="Longest pause between two tries, in seconds.")
    http_rate_limit_max_wait: float = Field(
        default=900.0,
        ge=0,
        description="Seconds one request may spend waiting out 429s before the source is "
        "reported as failing (a storm can last minutes; it is not counted in attempts).",
    )

    # --- validation and quarantine ----------------------------------------------------
    quarantine_max_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A chunk whose rejected share is above this fails the run ...",
    )
    quarantine_min_failures: int = Field(
        default=10,
        ge=1,
        description="... provided at least this many records were rejected (small batches "
        "are not failed on a single bad order).",
    )
    data_docs_dir: Path | None = Field(
        default=None, description="Great Expectations project and Data Docs; default <data_dir>/gx."
    )
    purchase_lists_dir: Path | None = Field(
        default=None, description="Replenishment's purchase list per supplier and date; default <data_dir>/purchase-lists."
    )
    data_docs_keep_runs: int = Field(
        default=50, ge=1, description="Validation results kept per table in Data Docs."
    )

    # --- risk screening (SPEC §3); amounts are in the order's currency --------------
    risk_history_multiple: float = Field(
        default=3.0, gt=0, description="Order total above this multiple of the customer's average."
    )
    risk_history_min_orders: int = Field(
        default=2, ge=1, description="Prior orders needed before the history rule applies."
    )
    risk_new_customer_amount: float = Field(
        default=500.0, ge=0, description="A first order at or above this amount is flagged."
    )
    risk_fragile_categories: list[str] = Field(
        default=["Glassware"],
        description="Product categories that need special handling.",
    )
    risk_known_payment_methods: list[str] = Field(
        default=[
            "shopify_payments", "paypal", "stripe", "credit_card", "bacs", "manual",
            "gift_card", "apple_pay", "google_pay", "klarna", "shop_pay", "amazon_payments",
        ],
        description="Payment methods that are not flagged; cash on delivery is always flagged.",
    )

    # --- competitor crawling (price monitoring) ----------------------------------------
    crawler_min_interval_seconds: float = Field(
        default=1.0, ge=0, description="Seconds between two requests to one competitor site (robots.txt "
        "Crawl-delay wins when longer).")
    crawler_per_origin_concurrency: int = Field(default=1, ge=1, description="Requests to one site at once.")
    crawler_total_concurrency: int = Field(
        default=32, ge=1, description="Sites crawled at once; more sites than this wait for one to finish.")
    crawler_max_bytes: int = Field(default=2_000_000, ge=10_000, description="Most of a page that is read.")
    crawler_allowed_hosts: list[str] = Field(
        default=[], description="Hosts (or host:port) the crawler may reach although they resolve to a "
        "loopback, private or link-local address (the sandbox's competitor sites).")
    reporting_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="The currency reports "
                                    "convert into, with the dated rates of `shopops fx import` (fx_rates).")
    pricing_fx_rates: dict[str, float] = Field(
        default={}, description="Units of our currency per unit of another, for competitor prices in it; "
        "a currency without a rate is left out of the market.")

    # --- satisfaction surveys and service levels ------------------------------------
    business_timezone: str = Field(default="UTC", description="The business's time zone: survey decisions are "
                                   "made at survey_send_hour there, and customers without a known zone live in it.")
    survey_send_hour: int = Field(default=10, ge=0, le=23, description="Hour (business time zone) at which a "
                                  "date's invitations are decided and sent.")
    survey_transit_days: float = Field(default=3.0, ge=0, description="Days from shipping to delivery (marketplaces "
                                       "report the shipment, not the delivery).")
    survey_suppress_days: int = Field(default=30, ge=1, description="No customer is invited twice within this many days.")
    survey_quiet_hours: tuple[int, int] = Field(default=(21, 9), description="Local hours [from, to) in which "
                                                "nobody is messaged; invitations wait until the end.")
    survey_link_days: int = Field(default=14, ge=1, description="Days a survey link stays valid.")
    survey_require_consent: bool = Field(default=True, description="Invite only customers who accepted to be contacted.")
    survey_min_responses: int = Field(default=30, ge=1, description="Fewer responses in a cell than this: no verdict.")
    survey_nps_target: float = Field(default=30.0, description="NPS a cell should reach.")
    survey_csat_target: float = Field(default=80.0, description="CSAT (% of 4–5) a cell should reach.")
    sla_first_reply_hours: dict[str, float] = Field(
        default={"general": 48.0, "urgent": 12.0, "major": 2.0},
        description="Hours within which a complaint of each level must be answered.")
    sla_first_reply_target: float = Field(default=95.0, description="% of complaints answered in time to aim for.")
    sla_chat_first_response_seconds: float = Field(default=30.0, description="A chat is answered in time within this.")
    sla_chat_target: float = Field(default=90.0, description="% of chats answered in time to aim for.")
    sla_solved_within_hours: float = Field(default=24.0, description="A complaint should be solved within this.")
    sla_solved_target: float = Field(default=80.0, description="% of complaints solved in time to aim for.")
    complaint_cause_lookback_days: int = Field(default=90, ge=1, description="Days of complaints counted per SKU "
                                               "and cause (replenishment's delisting warnings read them).")
    survey_max_send_delay_days: int = Field(default=2, ge=0, description="An invitation not sent within this "
                                            "many days of its date expires instead (no survey about old news).")
    survey_signing_key: SecretStr = Field(default=SecretStr(DEVELOPMENT_SIGNING_KEY.decode()),
                                          description="HMAC key of the survey links. Set it in production.")

    # --- operations -------------------------------------------------------------------
    run_lock_timeout_minutes: float = Field(default=60.0, gt=0, description="A run waits this long for another "
                                            "run of the same flow and date (a backfill chunk, the scheduled run) to "
                                            "finish before it fails.")
    backfill_task_runner: Literal["threads", "dask"] = Field(default="threads", description="Where a backfill "
                                                             "runs its chunks: threads of its own process, or a "
                                                             "Dask cluster (dask_address, or a local one).")
    dask_address: str | None = Field(default=None, description="Scheduler of the Dask cluster (tcp://host:8786) "
                                     "for the dask task runners; empty: a local cluster of dask_workers processes.")
    dask_workers: int = Field(default=2, ge=1, description="Worker processes of a local Dask cluster.")
    freshness_alert_hours: float = Field(default=3.0, gt=0, description="A source whose orders are loaded less "
                                         "recently than this raises the freshness alert.")
    alert_block: str | None = Field(default=None, description="Notification block (\"<type-slug>/<name>\") that "
                                    "receives failed runs and freshness alerts; empty: logged only.")

    # --- personal data ----------------------------------------------------------------
    customer_key_secret: SecretStr = Field(
        default=SecretStr("shopops-development-key"),
        description="HMAC key of the hashed customer key analytics see. Set it in production.",
    )

    def resolved_warehouse_url(self) -> str:
        if self.warehouse_url:
            return self.warehouse_url
        if self.warehouse_block:
            return _warehouse_block_url(self.warehouse_block)
        return f"sqlite:///{(self.data_dir / 'warehouse.db').resolve()}"

    def resolved_sources_file(self) -> Path:
        return self.sources_file or self.data_dir / "sources.yaml"

    def resolved_data_docs_dir(self) -> Path:
        return self.data_docs_dir or self.data_dir / "gx"

    def resolved_purchase_lists_dir(self) -> Path:
        return self.purchase_lists_dir or self.data_dir / "purchase-lists"


@lru_cache(maxsize=8)
def _warehouse_block_url(name: str) -> str:
    from shopops.blocks import WarehouseConnection

    try:
        return WarehouseConnection.load(name).url.get_secret_value()
    except ValueError as error:
        raise ValueError(f"SHOPOPS_WAREHOUSE_BLOCK: no shopops-warehouse block named {name!r} ({error}); "
                         "register the block types with `shopops blocks register` and create it in the UI") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """For tests and the CLI, after changing SHOPOPS_* variables."""
    get_settings.cache_clear()
    _warehouse_block_url.cache_clear()
