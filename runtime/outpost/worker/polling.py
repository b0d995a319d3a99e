"""Taking messages off the tier queues: by priority, without starving the lower tiers.

Fairness rule: polls go round a cycle of seven; the tier polled first is enterprise four
times in seven, pro twice, free once, and after it the others in priority order. So while all
three have work, enterprise gets at least 4/7 of a worker's pickups, pro 2/7 and free 1/7,
and an idle tier's share goes to the others. Every queue is first asked without waiting;
only when all are empty does the worker long-poll (the cycle's first tier), so an idle worker
costs a few requests a minute and a busy one never waits on an empty queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import cycle
from typing import TYPE_CHECKING

from outpost.models.tier import Tier

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

FIRST_PICKS = (
    Tier.ENTERPRISE, Tier.PRO, Tier.ENTERPRISE, Tier.FREE,
    Tier.ENTERPRISE, Tier.PRO, Tier.ENTERPRISE,
)  # fmt: skip
BY_PRIORITY = (Tier.ENTERPRISE, Tier.PRO, Tier.FREE)


@dataclass(frozen=True)
class Received:
    tier: Tier
    queue_url: str
    body: str
    receipt_handle: str
    receive_count: int


class TierPoller:
    def __init__(self, sqs: SQSClient, queue_urls: Mapping[Tier, str], wait_seconds: int) -> None:
        self._sqs = sqs
        self._queue_urls = queue_urls
        self._wait = wait_seconds
        self._firsts = cycle(FIRST_PICKS)

    def order(self) -> list[Tier]:
        first = next(self._firsts)
        return [first, *(tier for tier in BY_PRIORITY if tier is not first)]

    def receive(self) -> Received | None:
        order = self.order()
        for tier in order:
            found = self._receive(tier, wait=0)
            if found:
                return found
        return self._receive(order[0], wait=self._wait) if self._wait else None

    def _receive(self, tier: Tier, wait: int) -> Received | None:
        url = self._queue_urls[tier]
        messages = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        if not messages:
            return None
        (message,) = messages
        return Received(
            tier=tier,
            queue_url=url,
            body=message["Body"],
            receipt_handle=message["ReceiptHandle"],
            receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
        )
