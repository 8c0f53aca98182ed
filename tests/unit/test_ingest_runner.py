"""Which sources of a backfill run on worker processes and which on the flow's own process."""

from connectors.sources import SourceConfig
from flows.ingest import _away_sources


def configs(n: int) -> list[SourceConfig]:
    return [SourceConfig(f"s{i}", "shopify", "http://x", {}) for i in range(n)]


def test_the_flows_process_takes_a_share_round_robin():
    assert _away_sources(configs(3), workers=1) == {"s1"}
    assert _away_sources(configs(2), workers=1) == {"s1"}
    assert _away_sources(configs(5), workers=2) == {"s1", "s2", "s4"}


def test_a_worker_for_every_source_leaves_the_flows_process_orchestrating():
    assert _away_sources(configs(3), workers=3) == {"s0", "s1", "s2"}
    assert _away_sources(configs(2), workers=8) == {"s0", "s1"}
