"""docs/api/openapi.yaml is generated from the routes the application serves, and is current."""

from pathlib import Path

import yaml

from outpost.api.openapi import render
from outpost.api.routes import ROUTES

SPEC = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"


def test_committed_document_is_current() -> None:
    assert SPEC.read_text(encoding="utf-8") == render(), "run `make openapi` and commit the result"


def test_documents_exactly_the_served_routes() -> None:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == {(route.method, route.path) for route in ROUTES}


def test_every_route_but_health_requires_a_key_and_documents_its_refusals() -> None:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["security"] == ([{"apiKey": []}] if route.authorized else [])
        assert str(route.status) in operation["responses"]
        if route.authorized:
            assert {"401", "403", "429"} <= set(operation["responses"])
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "op_(live|test)_<32 hex>",
    }
