"""A tenant's own provider credentials (BYOK): which exist, never what they are."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from outpost.models.common import DomainModel, UtcDatetime

SECRET_VALUE_MAX_CHARS = 4096
# Shown of a stored value: its last characters, and only of a value long enough to keep most
# of it hidden.
HINT_CHARS = 4
HINT_MIN_LENGTH = 16


class Provider(StrEnum):
    GITHUB = "github"
    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    GOOGLE = "google"
    DEEPSEEK = "deepseek"
    XAI = "xai"


def _check_value(value: str) -> str:
    if not value.strip():
        raise ValueError("value must not be blank")
    if any(character.isspace() or not character.isprintable() for character in value):
        raise ValueError("value must not hold whitespace or control characters")
    return value


SecretValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SECRET_VALUE_MAX_CHARS),
    AfterValidator(_check_value),
]


def hint_of(value: str) -> str:
    """Enough for a person to tell two keys apart, never enough to use one."""
    if len(value) < HINT_MIN_LENGTH:
        return "…"
    return "…" + value[-HINT_CHARS:]


class SecretMetadata(DomainModel):
    provider: Provider
    created_at: UtcDatetime
    updated_at: UtcDatetime
    hint: str = Field(examples=["…a1b2"], description="The value's last characters, masked.")


class StoreSecret(BaseModel):
    """The body of PUT /v1/secrets/{provider}. ``repr`` hides the value from tracebacks."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    value: SecretValue = Field(repr=False)
