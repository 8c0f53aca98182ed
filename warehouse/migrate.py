"""`shopops db upgrade` and the check every flow makes before touching the warehouse."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from warehouse.engine import get_engine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaNotCurrent(RuntimeError):
    pass


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Bring the warehouse to `revision`; returns the revision it is at afterwards."""
    engine = get_engine(url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    return script.get_current_head()


def check_schema(engine: Engine) -> None:
    """Fail early, with the fix, when the warehouse is missing or behind the code."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        state = "has no schema yet" if current is None else f"is at revision {current}"
        raise SchemaNotCurrent(
            f"The warehouse {where} {state}; this code needs revision {head}. "
            "Run `shopops db upgrade` (with the same SHOPOPS_WAREHOUSE_URL) and retry."
        )
