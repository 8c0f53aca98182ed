"""Flow tests: real Prefect runs (one temporary Prefect server per session) against the sandbox."""

import pytest
from prefect.testing.utilities import prefect_test_harness

from connectors.sandbox import Sandbox
from shopops.settings import reset_settings_cache
from tests.contract.conftest import ANCHOR, small_config
from warehouse.models import TABLES

# Columns that say which run wrote a row and when, rather than what the data are.
RUN_METADATA = {
    "raw_orders": ("run_id", "fetched_at"),
    "orders": ("run_id", "loaded_at"),
    "customers": ("updated_at",),
    "products": ("run_id", "updated_at"),
    "inventory_levels": ("run_id", "fetched_at"),
    "inventory_snapshots": ("run_id", "taken_at"),
    "price_snapshots": ("run_id", "taken_at"),
    "quarantine": ("id", "run_id", "quarantined_at"),
    "sync_state": ("run_id", "updated_at"),
}
DATA_TABLES = [name for name in TABLES if name not in ("load_audit", "backfill_chunks")]  # bookkeeping


@pytest.fixture(scope="session", autouse=True)
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(small_config()) as running:
        yield running


@pytest.fixture
def configured(sandbox, sources_file, warehouse_url, monkeypatch):
    """Sandbox at the anchor, a sources file for it, credentials, small chunks, a migrated warehouse."""
    sandbox.clock.set(ANCHOR)
    sandbox.faults.clear()
    monkeypatch.setenv("SHOPOPS_CHUNK_SIZE", "400")
    use_sandbox(sandbox, sources_file, monkeypatch)
    yield sandbox
    sandbox.faults.clear()


def use_sandbox(sandbox, sources_file, monkeypatch) -> None:
    """Point the settings at the sandbox: its sources (in their currencies) and credentials."""
    for name, value in sandbox.credentials().items():
        monkeypatch.setenv(name, value)
    sources = sandbox.sources()
    for source in sources:
        source["currency"] = "USD" if source["kind"] == "shopify" else "EUR"
    sources_file(sources)
    reset_settings_cache()


def wipe(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(list(TABLES.values())):
            conn.execute(table.delete())
