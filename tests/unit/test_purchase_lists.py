"""Purchase lists per supplier and the reminder to purchasing, from plan rows."""

from datetime import date

import numpy as np
import pandas as pd

from tasks.replenishment.purchase_lists import reminder, write_purchase_lists

AS_OF = date(2026, 11, 20)


def plan(rows: list[tuple]) -> pd.DataFrame:
    """(sku, supplier, quantity, pack, unit cost, level, revenue at risk)"""
    frame = pd.DataFrame(rows, columns=["sku", "supplier", "suggested_quantity", "pack_size", "unit_cost", "level",
                                        "revenue_at_risk"])
    return frame.assign(location="shop-us", days_of_cover=2.0, stockout_date=AS_OF, on_order=0.0,
                        quantity_reason="need some units", delisting_warning=False)


def test_one_list_per_supplier_most_urgent_first_and_a_rerun_replaces_the_date(tmp_path):
    rows = plan([
        ("A", "Acme", 12, 6, 2.5, "warning", 0.0),
        ("B", "Acme", 4, 1, 10.0, "critical", 30.0),
        ("C", "Acme", 2, 1, 1.0, "critical", 90.0),
        ("D", None, 5, 5, np.nan, "ok", 0.0),           # no supplier and no cost on file
        ("E", "Bolt", 0, 1, 3.0, "watch", 0.0),          # nothing to order: on no list
    ])
    lists = write_purchase_lists(rows, AS_OF, tmp_path)
    assert [(item.supplier, item.lines, item.units) for item in lists] == [("Acme", 3, 18), ("no supplier on file", 1, 5)]
    assert lists[0].cost == 12 * 2.5 + 4 * 10.0 + 2 * 1.0 and np.isnan(lists[1].cost)
    acme = pd.read_csv(tmp_path / "2026-11-20" / "acme.csv")
    assert list(acme["sku"]) == ["C", "B", "A"]  # critical by revenue at risk, then the warning
    assert acme.set_index("sku").loc["A", "packs"] == 2 and list(acme.columns)[:3] == ["sku", "stock_pool", "quantity"]

    write_purchase_lists(plan([("A", "Acme", 6, 6, 2.5, "warning", 0.0)]), AS_OF, tmp_path)
    assert sorted(p.name for p in (tmp_path / "2026-11-20").iterdir()) == ["acme.csv"]
    write_purchase_lists(plan([("A", "Acme", 0, 6, 2.5, "ok", 0.0)]), AS_OF, tmp_path)
    assert not (tmp_path / "2026-11-20").exists()  # nothing to order today: no stale list left behind


def test_the_reminder_names_the_urgent_skus_and_every_list(tmp_path):
    rows = plan([("B", "Acme", 4, 1, 10.0, "critical", 30.0), ("A", "Acme", 12, 6, 2.5, "warning", 0.0)])
    lists = write_purchase_lists(rows, AS_OF, tmp_path)
    alerts = rows[rows["level"] != "ok"].sort_values("revenue_at_risk", ascending=False)
    summary = {"critical": 1, "warning": 1, "to_order": 2}
    subject, body = reminder(AS_OF, summary, alerts, lists)
    assert subject == "Replenishment 2026-11-20: 1 critical, 1 warning, 2 SKUs to order"
    assert "  B (shop-us): order 4, 2.0 days of cover, 30.00 at risk" in body
    assert f"  Acme: 2 SKUs, 16 units, 70.00 — {tmp_path / '2026-11-20' / 'acme.csv'}" in body
    assert reminder(AS_OF, {**summary, "to_order": 0}, alerts.iloc[0:0], [])[1].endswith("Nothing to order today.")
