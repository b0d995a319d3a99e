"""Domain errors: raised by services, turned into HTTP answers by the API layer only."""

from __future__ import annotations


class OutpostError(Exception):
    """An expected refusal: its ``type`` is machine-readable, its message safe to show."""

    status = 400
    type = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        """HTTP headers the refusal carries."""
        return {}


class InvalidRequest(OutpostError):
    pass


class Unauthenticated(OutpostError):
    status = 401
    type = "unauthorized"


class PermissionDenied(OutpostError):
    status = 403
    type = "forbidden"


class NotFound(OutpostError):
    """Also the answer for another tenant's resource: it must be indistinguishable."""

    status = 404
    type = "not_found"


class Conflict(OutpostError):
    status = 409
    type = "conflict"


class ValidationFailed(OutpostError):
    status = 422
    type = "validation_error"


class QuotaExceeded(OutpostError):
    """The tier's daily submissions are used up; ``retry_after`` is the seconds until reset."""

    status = 429
    type = "quota_exceeded"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ExecutorNotAllowed(PermissionDenied):
    type = "executor_not_allowed"


class IdempotencyKeyMismatch(ValidationFailed):
    type = "idempotency_key_mismatch"


class IdempotencyKeyInUse(Conflict):
    type = "idempotency_key_in_use"
