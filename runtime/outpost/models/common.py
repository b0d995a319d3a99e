"""Field types shared by the domain models.

Timestamps are stored as fixed-width UTC strings (microseconds, ``Z``) so that they sort
lexically in DynamoDB keys exactly as they sort in time.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, PlainSerializer

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(lambda moment: moment.astimezone(UTC)),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
]
"""A timezone-aware instant, normalised to UTC; naive datetimes are refused."""


class Environment(StrEnum):
    """Which side of a tenant's account a key, task or counter belongs to."""

    LIVE = "live"
    TEST = "test"


class DomainModel(BaseModel):
    """Base of every stored model: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


def prefixed_id(prefix: str) -> str:
    """A random identifier like ``tsk_3f9a…`` (96 bits from the OS CSPRNG)."""
    return f"{prefix}_{secrets.token_hex(12)}"


def prefixed_id_pattern(prefix: str) -> str:
    return rf"^{re.escape(prefix)}_[0-9a-f]{{24}}$"
