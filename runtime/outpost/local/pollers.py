"""What Lambda's event source mappings do in the cloud, which moto does not: poll a queue and
hand batches to the same handler function, deleting what it did not report as failed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from outpost.local.lambda_context import LocalLambdaContext

logger = Logger(service="outpost")

Handler = Callable[[dict[str, Any], Any], Any]


def sqs_event(queue_arn: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


class Poller(threading.Thread):
    """A daemon thread that polls until stopped and outlives any one bad batch, as Lambda does."""

    def __init__(self, name: str, handler: Handler) -> None:
        super().__init__(name=f"poller-{name}", daemon=True)
        self._handler = handler
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        self._prepare()
        while not self._stopping.is_set():
            try:
                self._poll_once()
            except Exception:
                logger.exception("poll failed", extra={"poller": self.name})
                self._stopping.wait(1)

    def _prepare(self) -> None:
        """Set up before the first poll."""

    def _poll_once(self) -> None:
        raise NotImplementedError


class SqsPoller(Poller):
    def __init__(self, name: str, queue_url: str, handler: Handler, batch_size: int = 10) -> None:
        super().__init__(name, handler)
        self._queue_url = queue_url
        self._batch_size = batch_size
        self._sqs: Any = None
        self._queue_arn = ""

    def _prepare(self) -> None:
        self._sqs = boto3.client("sqs")
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url, AttributeNames=["QueueArn"]
        )
        self._queue_arn = attributes["Attributes"]["QueueArn"]

    def _poll_once(self) -> None:
        sqs, queue_arn = self._sqs, self._queue_arn
        messages = sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        result = self._handler(sqs_event(queue_arn, messages), LocalLambdaContext(self.name)) or {}
        failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )


class StreamPoller(Poller):
    """A DynamoDB stream's records, in order, handed to the handler in batches; a batch whose
    records failed is logged (local mode keeps no failure destination)."""

    def __init__(self, name: str, table_name: str, handler: Handler) -> None:
        super().__init__(name, handler)
        self._table_name = table_name
        self._streams: Any = None
        self._stream_arn = ""
        self._iterators: dict[str, str] = {}

    def _prepare(self) -> None:
        table = boto3.client("dynamodb").describe_table(TableName=self._table_name)["Table"]
        self._stream_arn = table["LatestStreamArn"]
        self._streams = boto3.client("dynamodbstreams")

    def _poll_once(self) -> None:
        shards = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]
        for shard in shards["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            response = self._streams.get_records(ShardIterator=self._iterators[shard_id])
            self._iterators[shard_id] = response["NextShardIterator"]
            if response["Records"]:
                event = {
                    "Records": [
                        {**r, "eventSourceARN": self._stream_arn} for r in response["Records"]
                    ]
                }
                result = self._handler(event, LocalLambdaContext(self.name)) or {}
                if result.get("batchItemFailures"):
                    logger.error(
                        "stream records failed",
                        extra={"poller": self.name, "failures": len(result["batchItemFailures"])},
                    )
        self._stopping.wait(0.5)


class TimerPoller(Poller):
    """What an EventBridge schedule does: call the handler every ``interval_seconds``."""

    def __init__(self, name: str, handler: Handler, interval_seconds: float) -> None:
        super().__init__(name, handler)
        self._interval = interval_seconds

    def _poll_once(self) -> None:
        self._handler({"source": "outpost.local.timer"}, LocalLambdaContext(self.name))
        self._stopping.wait(self._interval)
