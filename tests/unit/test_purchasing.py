"""Purchase orders: the export's rows checked one by one, and what is on order on a date."""

from datetime import date

import pytest

from tasks.purchasing import import_purchase_orders, on_order, read_purchase_orders

HEADER = "po_number,sku,stock_pool,supplier,quantity,received_quantity,ordered_on,expected_on,received_on,status\n"


def write(tmp_path, body: str):
    path = tmp_path / "purchase-orders.csv"
    path.write_text(HEADER + body)
    return path


def test_bad_rows_are_reported_with_their_line_and_reason_and_good_rows_load(tmp_path):
    path = write(tmp_path, "\n".join([
        "PO-1,A,shop-us,Acme,10,,2026-11-10,2026-11-25,,open",        # line 2: good
        "PO-1,B,shop-us,Acme,5,,2026-11-10,2026-11-25,,received",     # 3: received without a date
        "PO-2,C,shop-us,,0,,2026-11-10,,,open",                       # 4: quantity 0
        "PO-3,D,,Acme,4,5,2026-11-10,,,open",                         # 5: no pool; received more than ordered
        "PO-4,E,shop-us,Acme,4,,11/10/2026,,,open",                   # 6: not an ISO date
        "PO-5,F,shop-us,Acme,4,,2026-11-10,,,shipped",                # 7: unknown status
        "PO-6,G,shop-us,Acme,6,,2026-11-01,2026-11-08,2026-11-09,received",  # 8: good, all received
    ]) + "\n")
    rows, problems = read_purchase_orders(path)
    assert list(rows["po_number"] + "/" + rows["sku"]) == ["PO-1/A", "PO-6/G"]
    assert rows.set_index("sku").loc["G", "received_quantity"] == 6  # a received line without a count got everything
    assert problems == [
        "line 3: a received line needs received_on (line PO-1/B)",
        "line 4: quantity must be a whole number ≥ 1 (line PO-2/C)",
        "line 5: stock_pool is empty (the shop whose stock the order goes into) (line PO-3/D)",
        "line 5: received_quantity is more than the quantity ordered (line PO-3/D)",
        "line 6: ordered_on must be a date (YYYY-MM-DD) (line PO-4/E)",
        "line 7: status must be one of open, received, cancelled (line PO-5/F)",
    ]


def test_on_order_counts_what_was_ordered_by_the_date_and_had_not_arrived(engine, tmp_path):
    import_purchase_orders(engine, write(tmp_path, "\n".join([
        "PO-1,A,shop-us,Acme,10,4,2026-11-10,2026-11-25,,open",            # 6 still to come
        "PO-2,A,shop-us,Acme,3,,2026-11-01,2026-11-12,,open",              # 3 to come, overdue on 11-20
        "PO-3,B,shop-us,Acme,5,,2026-11-01,2026-11-16,2026-11-18,received",  # arrived on 11-18
        "PO-4,B,shop-us,Acme,7,,2026-11-21,2026-11-30,,open",              # ordered after 11-20
        "PO-5,C,shop-us,Acme,9,,2026-11-01,2026-11-30,,cancelled",         # never counts
        "PO-6,A,shop-eu,Acme,2,,2026-11-20,2026-12-01,,open",              # ordered on the day: counts
    ]) + "\n"))
    with engine.connect() as conn:
        on_20 = on_order(conn, date(2026, 11, 20))
        on_15 = on_order(conn, date(2026, 11, 15))
    assert on_20.to_dict("index") == {("A", "shop-eu"): {"on_order": 2.0, "overdue": 0.0},
                                      ("A", "shop-us"): {"on_order": 9.0, "overdue": 3.0}}
    # On 11-15 PO-3 had not arrived yet (all of it counts); PO-2 was already overdue.
    assert on_15.to_dict("index") == {("A", "shop-us"): {"on_order": 9.0, "overdue": 3.0},
                                      ("B", "shop-us"): {"on_order": 5.0, "overdue": 0.0}}


def test_reimporting_a_later_export_updates_the_lines(engine, tmp_path):
    import_purchase_orders(engine, write(tmp_path, "PO-1,A,shop-us,Acme,10,,2026-11-10,2026-11-25,,open\n"))
    result = import_purchase_orders(engine, write(
        tmp_path, "PO-1,A,shop-us,Acme,10,10,2026-11-10,2026-11-25,2026-11-24,received\n"))
    assert (result.loaded, result.open_lines, result.problems) == (1, 0, [])
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT po_number, status, received_quantity FROM purchase_orders").all()
        assert on_order(conn, date(2026, 11, 26)).empty
    assert [tuple(r) for r in rows] == [("PO-1", "received", 10)]


@pytest.mark.parametrize("missing", ["stock_pool", "status"])
def test_a_file_without_a_required_column_is_refused_whole(tmp_path, missing):
    header = HEADER.strip().split(",")
    header.remove(missing)
    path = tmp_path / "po.csv"
    path.write_text(",".join(header) + "\n")
    with pytest.raises(ValueError, match=f"missing column\\(s\\) {missing}"):
        read_purchase_orders(path)
