"""Idempotency-Key for task submission, with Powertools idempotency.

The key is scoped to the tenant and its environment; the same key with the same body replays
the first successful response for 24 hours, the same key with another body is refused. Only
the submit service is made idempotent, not the whole handler: a refused request (any 4xx)
raises, so Powertools stores nothing and a corrected retry runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from outpost.errors import IdempotencyKeyInUse, IdempotencyKeyMismatch, InvalidRequest
from outpost.services.auth import Caller
from outpost.services.tasks import SubmitTask, TaskService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HEADER = "Idempotency-Key"
REPLAY_SECONDS = 24 * 3600  # Powertools' default is one hour
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

Submit = Callable[[Caller, SubmitTask, str], dict[str, Any]]


def idempotent_submit(
    service: Callable[[], TaskService], client: DynamoDBClient, table_name: str
) -> tuple[Submit, IdempotencyConfig]:
    """``submit(caller, request, key)``, replaying the first success of the same key, and
    the config to register each invocation's Lambda context with."""
    config = IdempotencyConfig(
        event_key_jmespath="[tenant_id, environment, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=REPLAY_SECONDS,
    )
    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)

    def first_submission(
        *, scope: dict[str, Any], caller: Caller, request: SubmitTask
    ) -> dict[str, Any]:
        return service().submit(caller, request).model_dump()

    # Wrapped by call: Powertools' decorator is untyped.
    submit_once: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="scope", persistence_store=persistence, config=config
    )(first_submission)

    def submit(caller: Caller, request: SubmitTask, key: str) -> dict[str, Any]:
        if not _KEY.fullmatch(key):
            raise InvalidRequest(f"{HEADER} must be 1 to 255 printable characters")
        scope = {
            "tenant_id": str(caller.principal.tenant_id),
            "environment": caller.principal.environment.value,
            "key": key,
            "body": request.model_dump(mode="json"),
        }
        try:
            result: dict[str, Any] = submit_once(scope=scope, caller=caller, request=request)
        except IdempotencyValidationError:
            raise IdempotencyKeyMismatch(
                f"this {HEADER} was used with a different request body"
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise IdempotencyKeyInUse(
                f"a request with this {HEADER} is still being processed"
            ) from None
        return result

    return submit, config
