"""API Gateway REST proxy events, shaped as API Gateway sends them to a Lambda integration."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from outpost.api.routes import Route

LOCAL_API_ID = "local"
LOCAL_STAGE = "local"


def proxy_event(
    route: Route,
    path: str,
    *,
    path_parameters: Mapping[str, str],
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: str | None,
    authorizer_context: Mapping[str, str] | None,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
) -> dict[str, Any]:
    request_id = request_id or str(uuid.uuid4())
    user_agent = next((v for k, v in headers.items() if k.lower() == "user-agent"), None)
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": route.method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": route.method,
            "path": f"/{LOCAL_STAGE}{path}",
            "stage": LOCAL_STAGE,
            "apiId": LOCAL_API_ID,
            "accountId": "000000000000",
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": user_agent},
            "authorizer": dict(authorizer_context) if authorizer_context is not None else None,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def response_headers(response: dict[str, Any]) -> dict[str, str]:
    """A proxy response's headers, single- and multi-valued, as API Gateway merges them."""
    headers = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values)
    return headers
