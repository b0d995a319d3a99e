"""Process settings read from the environment once, at cold start, and validated."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError


class Misconfigured(RuntimeError):
    """The function's environment is wrong: an operator's error, never the caller's."""


class RuntimeSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        # Not a ValidationError: the API would answer that as the caller's 422.
        try:
            return cls.model_validate(dict(os.environ if environ is None else environ))
        except ValidationError as error:
            raise Misconfigured(f"{cls.__name__}: {error}") from None
