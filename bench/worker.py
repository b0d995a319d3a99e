"""The worker's own cost: dispatch latency and orchestration overhead, against local mode.

    .venv/bin/python bench/worker.py [--tasks 60] [--workers 2]

Starts `outpost local` with ``--workers`` worker processes, a local bare repository as the
git base and a no-op stand-in agent on PATH, makes one enterprise tenant (10 runs at once),
then keeps ``--workers`` tasks in flight until ``--tasks`` have ended. Reports, per task:
dispatch latency (queued -> processing: submission to the run's start) and orchestration
overhead (the run's time less the agent's own, from result.json: claim, slot, secrets,
clone, prompt, commit, diff, upload, end). Local mode runs moto on the same two cores, so
these figures measure the code paths, not what SQS, DynamoDB and S3 would do.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import datetime

import boto3
from local import Client, LocalMode, percentile, playground, playground_environment

FINAL = {"completed", "failed", "cancelled"}


def moment(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    root = playground("bench/repo")
    local = LocalMode(
        workers=args.workers,
        environment=playground_environment(root),
    )
    errors: list[str] = []
    timings: dict[str, list[float]] = {}
    try:
        (key,) = local.onboard(1, "enterprise")
        client = Client(local.port, key, timings, errors)
        client.call("secret", "PUT", "/v1/secrets/anthropic", {"value": "sk-ant-bench-" + "0" * 24})
        task = {"repo": "bench/repo", "task": "nothing", "executor": "claude", "context": "off"}
        in_flight: list[str] = []
        ended: list[dict] = []
        submitted = 0
        started = time.monotonic()
        while len(ended) < args.tasks:
            while submitted < args.tasks and len(in_flight) < args.workers:
                answer = client.call("submit", "POST", "/v1/tasks", task)
                in_flight.append(answer["task_id"])
                submitted += 1
            for task_id in list(in_flight):
                view = client.call("get", "GET", f"/v1/tasks/{task_id}")
                if view and view["status"] in FINAL:
                    in_flight.remove(task_id)
                    ended.append(view)
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        # Local mode's moto takes any credentials.
        s3 = boto3.client(
            "s3",
            endpoint_url=local.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto's, not a secret
        )
        dispatch, overhead, totals = [], [], []
        for view in ended:
            (run,) = view["runs"]
            key_name = view["output_url"].split("/outpost-runs-local/", 1)[1].split("?", 1)[0]
            result_key = key_name.removesuffix("output.log") + "result.json"
            result = json.loads(
                s3.get_object(Bucket="outpost-runs-local", Key=result_key)["Body"].read()
            )
            run_seconds = moment(run["completed_at"]) - moment(run["started_at"])
            dispatch.append((moment(run["started_at"]) - moment(view["created_at"])) * 1000)
            overhead.append((run_seconds - result["agent_seconds"]) * 1000)
            totals.append((moment(run["completed_at"]) - moment(view["created_at"])) * 1000)
        statuses = sorted({view["status"] for view in ended})
    finally:
        local.stop()
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"{args.tasks} tasks, {args.workers} workers, {elapsed:.1f} s "
        f"({args.tasks / elapsed:.1f} tasks/s); statuses {statuses}; {len(errors)} errors"
    )
    print("| measure | p50 ms | p99 ms |\n|---|---|---|")
    for name, samples in (
        ("dispatch latency (queued -> processing)", dispatch),
        ("orchestration overhead (run time - agent time)", overhead),
        ("submission to end", totals),
    ):
        print(f"| {name} | {percentile(samples, 0.5):.0f} | {percentile(samples, 0.99):.0f} |")
    for error in errors[:5]:
        print(f"error: {error}")


if __name__ == "__main__":
    main()
