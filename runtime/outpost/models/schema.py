"""JSON Schema export of every stored model, for API docs and for other languages' clients.

``python -m outpost.models.schema docs/schemas`` rewrites the committed copies; a test fails
when they drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from outpost.models import ApiKey, AuditEntry, Run, Task, Tenant, TierLimits, UsageRecord

EXPORTED: tuple[type[BaseModel], ...] = (
    ApiKey,
    AuditEntry,
    Run,
    Task,
    Tenant,
    TierLimits,
    UsageRecord,
)


def json_schemas() -> dict[str, dict[str, Any]]:
    return {model.__name__: model.model_json_schema(mode="serialization") for model in EXPORTED}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = directory / f"{name}.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(path)
