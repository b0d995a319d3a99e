"""Polling the tier queues: enterprise first most of the time, never starving free."""

from collections import Counter

import boto3
import pytest
from moto import mock_aws

from outpost.data.queues import TASK_QUEUES
from outpost.models import Tier
from outpost.worker.polling import TierPoller


@pytest.fixture
def queues() -> dict[Tier, str]:
    with mock_aws():
        sqs = boto3.client("sqs")
        yield {
            tier: sqs.create_queue(QueueName=spec.queue_name("unit"))["QueueUrl"]
            for tier, spec in TASK_QUEUES.items()
        }


def test_first_picks_follow_the_four_two_one_cycle() -> None:
    poller = TierPoller(None, {}, wait_seconds=0)  # type: ignore[arg-type]
    firsts = Counter(poller.order()[0] for _ in range(70))
    assert firsts == {Tier.ENTERPRISE: 40, Tier.PRO: 20, Tier.FREE: 10}
    assert all(sorted(poller.order()) == sorted(Tier) for _ in range(7))


def test_with_every_tier_backlogged_free_still_gets_its_share(queues: dict[Tier, str]) -> None:
    sqs = boto3.client("sqs")
    for tier, url in queues.items():
        for n in range(20):
            sqs.send_message(QueueUrl=url, MessageBody=f"{tier.value}-{n}")
    poller = TierPoller(sqs, queues, wait_seconds=0)
    taken = Counter()
    for _ in range(14):
        received = poller.receive()
        assert received is not None
        taken[received.tier] += 1
    assert taken == {Tier.ENTERPRISE: 8, Tier.PRO: 4, Tier.FREE: 2}


def test_an_idle_tier_gives_its_turn_away(queues: dict[Tier, str]) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queues[Tier.FREE], MessageBody="only free")
    received = TierPoller(sqs, queues, wait_seconds=0).receive()
    assert received is not None
    assert (received.tier, received.body, received.receive_count) == (Tier.FREE, "only free", 1)


def test_nothing_anywhere_is_none(queues: dict[Tier, str]) -> None:
    assert TierPoller(boto3.client("sqs"), queues, wait_seconds=0).receive() is None
