"""Generates docs/api/openapi.yaml from the route table and the models the handlers use.

``python -m outpost.api.openapi docs/api/openapi.yaml`` rewrites it; a test fails when the
committed file differs from what this produces.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from outpost.api.routes import ROUTES, Route
from outpost.api.schemas import ErrorResponse

REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed request (bad JSON, bad cursor)",
    401: "Missing, malformed or unknown API key",
    403: "The key is revoked, its tenant inactive, or it lacks the scope",
    404: "No such resource (another tenant's resources answer the same)",
    409: "Conflicts with the resource's state",
    422: "The request body or query failed validation",
    429: "Too many requests, or the daily task quota is used up (see Retry-After)",
}


def _models() -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = [ErrorResponse]
    for route in ROUTES:
        models.extend(m for m in (route.response, route.body) if m is not None and m not in models)
    return models


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template=REF_TEMPLATE)
        for name, prop in schema["properties"].items():
            parameters.append({"name": name, "in": "query", "required": False, "schema": prop})
    return parameters


def _operation(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(route.status): {
            "description": "Success",
            "content": {
                "application/json": {
                    "schema": {"$ref": REF_TEMPLATE.format(model=route.response.__name__)}
                }
            },
        }
    }
    errors = (*route.errors, 401, 403, 429) if route.authorized else route.errors
    for status in sorted(set(errors)):
        responses[str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {
                "application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorResponse")}}
            },
        }
    operation: dict[str, Any] = {
        "operationId": f"{route.method.lower()}{re.sub(r'[^A-Za-z]+', '_', route.path)}".rstrip(
            "_"
        ),
        "summary": route.summary,
        "tags": [route.group.value],
        "responses": responses,
    }
    if parameters := _parameters(route):
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": REF_TEMPLATE.format(model=route.body.__name__)}
                }
            },
        }
    operation["security"] = [{"apiKey": []}] if route.authorized else []
    return operation


def document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "serialization") for model in _models()], ref_template=REF_TEMPLATE
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Outpost API",
            "version": "1.0.0",
            "description": "Run AI coding agents on your repositories. Authenticate with "
            "`Authorization: Bearer op_live_…` (or `op_test_…`). Errors are "
            '`{"error": {"type", "message", "request_id"}}`.',
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "local mode"}],
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "op_(live|test)_<32 hex>",
                }
            },
            "schemas": definitions["$defs"],
        },
        "paths": paths,
    }


def render() -> str:
    import yaml  # noqa: PLC0415 - a build-time tool; the Lambda runtime never imports this

    return yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/api/openapi.yaml")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(target)
