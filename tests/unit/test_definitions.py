"""Every deployment in prefect.yaml points at a flow that imports and whose parameter form builds;
every setting is documented."""

import importlib.util
from pathlib import Path

import yaml
from prefect import Flow
from prefect.utilities.callables import parameter_schema

ROOT = Path(__file__).resolve().parents[2]
# A run of these needs values the UI form asks for.
REQUIRED_EXAMPLES = {"backfill": {"flow": "replenishment", "start": "2026-11-01", "end": "2026-11-03"}}


def load_entrypoint(entrypoint: str):
    path, name = entrypoint.split(":")
    spec = importlib.util.spec_from_file_location(f"_deployment_{Path(path).stem}", ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_every_deployment_loads_a_flow_with_a_described_parameter_form():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert config["deployments"], "prefect.yaml has no deployments"
    for deployment in config["deployments"]:
        flow = load_entrypoint(deployment["entrypoint"])
        assert isinstance(flow, Flow), deployment["name"]
        schema = parameter_schema(flow.fn).model_dump_for_openapi()
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{deployment['name']}: parameter {name} has no description for the UI form"
        unknown = set(deployment.get("parameters") or {}) - set(schema["properties"])
        assert not unknown, f"{deployment['name']}: parameters {unknown} are not parameters of the flow"
        # What a worker does first with a run's parameters (types resolved in the flow's own module).
        parameters = {**REQUIRED_EXAMPLES.get(deployment["name"], {}), **(deployment.get("parameters") or {})}
        flow.validate_parameters(parameters)


def test_ingest_parameters_are_typed_for_the_form():
    flow = load_entrypoint("flows/ingest.py:ingest_orders")
    properties = parameter_schema(flow.fn).model_dump_for_openapi()["properties"]
    assert set(properties) == {"sources", "start", "end"}
    assert any(option.get("format") == "date-time" for option in properties["start"]["anyOf"])


def test_every_setting_is_documented_once_in_docs_settings_md():
    from shopops.settings import Settings

    documented = (ROOT / "docs" / "settings.md").read_text()
    for name in Settings.model_fields:
        assert documented.count(f"| `SHOPOPS_{name.upper()}` |") == 1, f"SHOPOPS_{name.upper()} is not in docs/settings.md"
