"""After a whole `shopops demo` (every flow, real Prefect runs on a temporary server of its own), no
credential and no customer's e-mail address or phone number is anywhere it must not be: the
demo's output, the Prefect database (logs, artifacts, states and their exceptions, parameters),
the Data Docs and every other file written, and every warehouse column except the few that hold
contact details by design. Analytics see hashed customer keys only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from sqlalchemy import String, Text, create_engine, inspect, select

from connectors.sandbox import SandboxConfig
from connectors.sandbox.credentials import service_secrets, store_secrets
from warehouse.models import TABLES, Customer, Order

pytestmark = pytest.mark.e2e

DAYS = 7
# Where contact details are kept on purpose: the customer record the survey writes to, and the
# records exactly as the marketplace sent them (raw versions, and quarantined ones for diagnosis).
CONTACTS_BY_DESIGN = {("customers", "email"), ("customers", "phone"), ("raw_orders", "payload"),
                      ("quarantine", "payload")}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d ().-]{6,}\d")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


class Leaks:
    """Finds the given secrets, e-mail addresses and phone numbers in a text."""

    def __init__(self, secrets: set[str], emails: set[str], phones: set[str]):
        self.secrets, self.emails = secrets, {e.lower() for e in emails}
        self.phones = {digits(p) for p in phones}

    def in_text(self, text: str) -> list[str]:
        found = [f"secret {s[:4]}…" for s in self.secrets if s in text]
        found += [f"e-mail {e}" for e in {m.lower() for m in EMAIL.findall(text)} & self.emails]
        found += [f"phone {p}" for p in {digits(m) for m in PHONE.findall(text)} & self.phones]
        return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PREFECT_", "SHOPOPS_"))}
    env.update(PREFECT_HOME=str(home / "prefect"), SHOPOPS_DATA_DIR=str(home / "data"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    done = subprocess.run([sys.executable, "-m", "shopops.cli", "demo", "--days", str(DAYS)], env=env, cwd=home,
                          capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, f"the demo failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    (home / "demo-output.txt").write_text(done.stdout + done.stderr)
    return home


@pytest.fixture(scope="module")
def leaks(demo) -> Leaks:
    config = replace(SandboxConfig.demo(), days=DAYS)
    secrets = {value for store in config.stores for value in store_secrets(config.seed, store).values()}
    secrets |= {value for fields in service_secrets(config.seed).values() for value in fields.values()
                if isinstance(value, str) and len(value) >= 8}
    engine = create_engine(f"sqlite:///{demo / 'data' / 'warehouse.db'}")
    with engine.connect() as conn:
        customers = conn.execute(select(Customer.email, Customer.phone)).all()
    engine.dispose()
    emails = {email for email, _ in customers if email}
    phones = {phone for _, phone in customers if phone}
    assert len(secrets) >= 6 and len(emails) > 500 and len(phones) > 300, "the scan needs something to look for"
    return Leaks(secrets, emails, phones)


def test_the_scan_finds_what_it_looks_for(leaks):
    email, phone = next(iter(leaks.emails)), next(iter(leaks.phones))
    secret = next(iter(leaks.secrets))
    found = leaks.in_text(f"mail to {email.upper()} or call +{phone[:2]} {phone[2:]}; token={secret}")
    assert len(found) == 3, found


def test_no_secret_or_contact_detail_in_any_file_the_demo_wrote(demo, leaks):
    files = [p for p in demo.rglob("*") if p.is_file() and not p.name.startswith("warehouse.db")]
    names = {p.name for p in files}
    assert {"demo-output.txt", "prefect.db"} <= names, "the Prefect database and the output must be scanned"
    assert any(p.suffix == ".html" for p in files), "the Data Docs must be scanned"
    found = {}
    for path in files:
        hits = leaks.in_text(path.read_bytes().decode("utf-8", "replace"))
        if hits:
            found[str(path.relative_to(demo))] = hits[:5]
    assert not found


def test_no_secret_or_contact_detail_in_the_warehouse_outside_its_contact_columns(demo, leaks):
    engine = create_engine(f"sqlite:///{demo / 'data' / 'warehouse.db'}")
    found = {}
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= set(TABLES)
        for name, table in TABLES.items():
            columns = [c for c in table.columns if isinstance(c.type, (String, Text))
                       and (name, c.name) not in CONTACTS_BY_DESIGN]
            for column in columns:
                values = conn.execute(select(column).where(column.is_not(None))).scalars().all()
                hits = leaks.in_text("\n".join(map(str, values)))
                if hits:
                    found[f"{name}.{column.name}"] = hits[:5]
        keys = conn.execute(select(Order.customer_key).where(Order.customer_key.is_not(None))).scalars().all()
    engine.dispose()
    assert not found
    assert len(keys) > 1000 and all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)  # HMAC-SHA256, hex
