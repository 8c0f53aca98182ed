"""The team's promotion calendar: good rows load (and re-load as updates), each bad row is
reported with its line and reason and loads nothing."""

import json

import pandas as pd

from tasks.promotions.calendar import import_calendar, read_calendar

HEADER = "promotion_id,name,type,parameters,starts_at,ends_at,skus,categories,channels,member_only,codes\n"


def write(tmp_path, body: str):
    path = tmp_path / "calendar.csv"
    path.write_text(HEADER + body)
    return path


def test_good_rows_become_promotions(tmp_path):
    path = write(tmp_path, (
        'bf,Black Friday,threshold,"{""tiers"": [{""spend"": ""100"", ""off"": ""20""}]}",'
        '2026-11-27T00:00:00Z,2026-11-28T00:00:00Z,,Kitchen;Garden,shop-a,,bf20;BF-EXTRA\n'
        'vip,,member,"{""percent"": 10}",2026-11-01T08:00:00+01:00,2026-11-08,A1,,,true,\n'))
    rows, problems = read_calendar(path)
    assert problems == []
    bf, vip = rows.iloc[0], rows.iloc[1]
    assert (bf["promotion_id"], bf["type"], bf["origin"]) == ("calendar:bf", "threshold", "calendar")
    assert json.loads(bf["scope_categories"]) == ["Kitchen", "Garden"] and pd.isna(bf["scope_skus"])
    assert json.loads(bf["codes"]) == ["BF20", "BF-EXTRA"]          # codes compare upper case
    assert vip["name"] == "vip" and bool(vip["member_only"])
    assert vip["starts_at"] == pd.Timestamp("2026-11-01T07:00:00Z")  # offsets become UTC


def test_each_bad_row_says_why_and_the_rest_load(tmp_path, engine):
    path = write(tmp_path, (
        'ok,,percentage,"{""percent"": 20}",2026-11-01,2026-11-02,,,,,\n'
        'bad-type,,bogo,{},2026-11-01,2026-11-02,,,,,\n'
        'bad-json,,percentage,{percent: 20},2026-11-01,2026-11-02,,,,,\n'
        'no-percent,,percentage,{},2026-11-01,2026-11-02,,,,,\n'
        'backwards,,fixed,"{""amount"": ""5""}",2026-11-03,2026-11-02,,,,,\n'
        'no-tiers,,threshold,"{""tiers"": []}",2026-11-01,2026-11-02,,,,,\n'))
    result = import_calendar(engine, path)
    assert result.loaded == 1
    assert [p.split(":")[0] for p in result.problems] == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "type must be one of" in result.problems[0] and "JSON object" in result.problems[1]
    assert "needs a percent" in result.problems[2] and "after starts_at" in result.problems[3]
    assert "tiers like" in result.problems[4]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT promotion_id FROM promotions").scalars().all() == ["calendar:ok"]


def test_reimporting_updates_in_place(tmp_path, engine):
    import_calendar(engine, write(tmp_path, 'p,,percentage,"{""percent"": 20}",2026-11-01,2026-11-02,,,,,\n'))
    import_calendar(engine, write(tmp_path, 'p,,percentage,"{""percent"": 25}",2026-11-01,2026-11-02,,,,,\n'))
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT promotion_id, parameters FROM promotions").all()
    assert [(pid, json.loads(p)["percent"]) for pid, p in rows] == [("calendar:p", 25)]
