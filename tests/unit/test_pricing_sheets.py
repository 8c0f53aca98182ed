"""The pricing team's sheets: bad rows reported by line, good rows upserted."""

from tasks.pricing.sheets import import_catalogue, import_rules, read_catalogue, read_rules


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_catalogue_rows_are_checked_and_an_http_url_is_required(tmp_path):
    rows, problems = read_catalogue(write(tmp_path, "c.csv", "\n".join([
        "sku,competitor,url,price_selector,active",
        "A,alpha,https://alpha.example/p/1,,",              # 2: good, active by default
        "A,beta,file:///etc/passwd,,true",                 # 3: not http(s)
        "B,alpha,http://alpha.example/p/2,span.price,no",  # 4: good, switched off
        "B,alpha,http://alpha.example/p/3,,",              # 5: the same pair twice (with 4)
        "C,gamma,https://gamma.example/c,,maybe",          # 6: active is not a boolean
    ]) + "\n"))
    assert list(zip(rows["sku"], rows["competitor"], rows["active"])) == [("A", "alpha", True)]
    assert rows["price_selector"].isna().all()  # empty: the page's structured data is read
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6"]
    assert "url must be an http(s) address" in problems[0] and "appear twice" in problems[1]


def test_rules_are_checked_and_reimporting_updates_them(engine, tmp_path):
    header = "sku,role,min_margin,member_price\n"
    rows, problems = read_rules(write(tmp_path, "r.csv", header + "A,traffic,0.15,9.50\nB,cheap,,\nC,regular,1.5,\nD,regular,,-1\n"))
    assert list(rows["sku"]) == ["A"] and float(rows["member_price"].iloc[0]) == 9.5
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5"]
    import_rules(engine, write(tmp_path, "r1.csv", header + "A,traffic,0.15,\n"))
    result = import_rules(engine, write(tmp_path, "r2.csv", header + "A,regular,,\n"))
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT sku, role, min_margin FROM pricing_rules").all()
    assert (result.loaded, result.problems, [tuple(r) for r in stored]) == (1, [], [("A", "regular", None)])


def test_importing_the_catalogue_twice_changes_nothing_the_second_time(engine, tmp_path):
    path = write(tmp_path, "c.csv", "sku,competitor,url\nA,alpha,https://alpha.example/p/1\n")
    import_catalogue(engine, path)
    with engine.connect() as conn:
        first = conn.exec_driver_sql("SELECT sku, competitor, url, active, updated_at FROM competitor_products").all()
    import_catalogue(engine, path)
    with engine.connect() as conn:
        again = conn.exec_driver_sql("SELECT sku, competitor, url, active, updated_at FROM competitor_products").all()
    assert again == first and len(first) == 1
