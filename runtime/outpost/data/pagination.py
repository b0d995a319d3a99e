"""Opaque cursors for paginated queries.

A cursor is DynamoDB's LastEvaluatedKey, base64url-encoded. It is not a secret, so each query
checks that a presented cursor points into the partition the caller may read: a cursor
crafted to name another tenant's partition is refused, not followed.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class InvalidCursor(ValueError):
    """The cursor was not issued for this query."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = field(default=None)


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, partition: tuple[str, str] | None) -> dict[str, Any]:
    """The start key a cursor holds, if it lies in ``partition`` (attribute name, value); with
    None (an admin's listing across partitions) only its shape is checked."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError) as error:
        raise InvalidCursor("cursor is malformed") from error
    if not isinstance(key, dict):
        raise InvalidCursor("cursor is malformed")
    if partition is not None and key.get(partition[0]) != {"S": partition[1]}:
        raise InvalidCursor("cursor does not belong to this listing")
    if not all(isinstance(attr, dict) and len(attr) == 1 for attr in key.values()):
        raise InvalidCursor("cursor is malformed")
    return key
