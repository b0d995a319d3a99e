"""Every stored model exports a JSON schema, and the committed copies are current."""

from pathlib import Path

import pytest

from outpost.models.schema import EXPORTED, json_schemas, render

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_every_model_exports_a_schema_with_its_required_fields() -> None:
    schemas = json_schemas()
    assert set(schemas) == {model.__name__ for model in EXPORTED}
    assert {"name", "email"} <= set(schemas["Tenant"]["required"])
    assert schemas["Tenant"]["properties"]["tenant_id"]["format"] == "uuid"
    assert "key_hash" in schemas["ApiKey"]["required"]
    assert schemas["Task"]["properties"]["task"]["maxLength"] == 10_000
    for schema in schemas.values():
        assert schema["type"] == "object"
        assert schema.get("additionalProperties") is False


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_committed_schema_is_current(name: str) -> None:
    committed = (SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8")
    assert committed == render(json_schemas()[name]), "run `make schemas` and commit the result"
