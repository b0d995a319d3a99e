"""A stand-in for the few Stripe API calls Outpost makes, on 127.0.0.1: local mode and the
tests point the stripe library at it (``base_addresses``), so billing works without the
internet. Customers honour Idempotency-Key as Stripe does; subscriptions are whatever a test
(or local mode's operator) put there."""

from __future__ import annotations

import json
import re
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


def _form(body: str) -> dict[str, Any]:
    """Stripe's form encoding, nested: ``line_items[0][price]=p`` becomes
    ``{"line_items": {"0": {"price": "p"}}}``."""
    decoded: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        *path, last = re.findall(r"[^\[\]]+", key)
        target = decoded
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    return decoded


class StripeStandIn:
    def __init__(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.sessions: list[dict[str, Any]] = []
        self._by_idempotency_key: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> StripeStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(
        self, method: str, path: str, body: dict[str, Any], key: str | None
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if key and key in self._by_idempotency_key:
                return 200, self._by_idempotency_key[key]
            status, answer = self._route(method, path, body)
            if key and status == HTTPStatus.OK:
                self._by_idempotency_key[key] = answer
            return status, answer

    def _route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if (method, path) == ("POST", "/v1/customers"):
            customer = {"id": f"cus_{secrets.token_hex(7)}", "object": "customer", **body}
            self.customers[customer["id"]] = customer
            return 200, customer
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            session_id = f"cs_test_{secrets.token_hex(8)}"
            session = {
                "id": session_id,
                "object": "checkout.session",
                "url": f"{self.url}/pay/{session_id}",
                **body,
            }
            self.sessions.append(session)
            return 200, session
        if (method, path) == ("POST", "/v1/billing_portal/sessions"):
            session_id = f"bps_{secrets.token_hex(8)}"
            session = {
                "id": session_id,
                "object": "billing_portal.session",
                "url": f"{self.url}/portal/{session_id}",
                **body,
            }
            self.sessions.append(session)
            return 200, session
        if method == "GET" and path.startswith("/v1/subscriptions/"):
            found = self.subscriptions.get(path.rsplit("/", 1)[1])
            if found:
                return 200, found
        return 404, {
            "error": {"type": "invalid_request_error", "message": f"No such resource: {path}"}
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = _form(self.rfile.read(length).decode()) if length else {}
                status, answer = stand_in.answer(
                    self.command,
                    self.path.split("?", 1)[0],
                    body,
                    self.headers.get("Idempotency-Key"),
                )
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def log_message(self, *_: object) -> None:
                return

        return Handler
