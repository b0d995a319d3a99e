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


class SqsPoller(threading.Thread):
    def __init__(self, name: str, queue_url: str, handler: Handler, batch_size: int = 10) -> None:
        super().__init__(name=f"poller-{name}", daemon=True)
        self._queue_url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        sqs = boto3.client("sqs")
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        while not self._stopping.is_set():
            try:
                self._poll_once(sqs, queue_arn)
            except Exception:  # a poller must outlive any one bad batch, as Lambda does
                logger.exception("poll failed", extra={"poller": self.name})
                self._stopping.wait(1)

    def _poll_once(self, sqs: Any, queue_arn: str) -> None:
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
