"""Authorizer decision time (cache miss and hit) and each handler's cold-init cost.

    .venv/bin/python bench/authorizer.py [--calls 3000] [--cold-runs 5]

Cache misses go to DynamoDB as moto in-process (mock_aws) — slower than DynamoDB in a region
for GetItem, and it includes the conditional write of last_used_at when that is due. Cold init
is measured in a fresh interpreter per run: importing the handler module and building its
clients, next to the baseline ``import boto3; boto3.client("dynamodb")`` in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "runtime"))

FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "OUTPOST_TENANTS_TABLE": "tenants",
    "OUTPOST_API_KEYS_TABLE": "api-keys",
    "OUTPOST_AUDIT_TABLE": "audit",
    "OUTPOST_AUDIT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/audit",
    "OUTPOST_AUDIT_ARCHIVE_BUCKET": "archive",
    "POWERTOOLS_SERVICE_NAME": "outpost",
}

# What each handler does at cold start: import, then build its settings and clients.
COLD_INIT = {
    "baseline: import boto3; boto3.client('dynamodb')": "import boto3; boto3.client('dynamodb')",
    "authorizer": "from outpost.handlers import authorizer as m; m._dependencies()",
    "tenants": "from outpost.handlers import tenants as m; m._stores()",
    "audit": "from outpost.handlers import audit as m; m._repository()",
    "health": "from outpost.handlers import health as m; m._settings(); m._client()",
    "audit_consumer": "from outpost.handlers import audit_consumer as m; m._repository()",
    "audit_archiver": "from outpost.handlers import audit_archiver as m; m._target()",
}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def decisions(calls: int) -> dict[str, list[float]]:
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    from outpost.data.api_keys import ApiKeyRepository  # noqa: PLC0415
    from outpost.data.tables import API_KEYS, TENANTS, provision_table  # noqa: PLC0415
    from outpost.data.tenants import TenantRepository  # noqa: PLC0415
    from outpost.models import ApiKey, Environment, Tenant  # noqa: PLC0415
    from outpost.services.auth import Authenticator, DecisionCache  # noqa: PLC0415

    os.environ.update(FAKE_ENVIRONMENT)
    with mock_aws():
        client = boto3.client("dynamodb")
        provision_table(client, TENANTS, "tenants")
        provision_table(client, API_KEYS, "api-keys")
        tenants, keys = TenantRepository(client, "tenants"), ApiKeyRepository(client, "api-keys")
        tenant = Tenant(name="Bench", email="bench@example.com")
        tenants.create(tenant)
        key, plaintext = ApiKey.issue(
            tenant_id=tenant.tenant_id, name="b", environment=Environment.LIVE
        )
        keys.create(key)
        header = f"Bearer {plaintext}"

        def timed(authenticator: Authenticator, header: str) -> list[float]:
            samples = []
            for _ in range(calls):
                start = time.perf_counter()
                authenticator.authenticate(header)
                samples.append((time.perf_counter() - start) * 1000)
            return samples

        uncached = Authenticator(
            keys, tenants, DecisionCache(max_entries=1, allow_seconds=0, deny_seconds=0)
        )
        cached = Authenticator(
            keys, tenants, DecisionCache(max_entries=10_000, allow_seconds=3600, deny_seconds=3600)
        )
        cached.authenticate(header)
        unknown = "Bearer op_live_" + "0" * 32
        return {
            "miss: valid key (2 GetItem)": timed(uncached, header),
            "miss: unknown key (1 GetItem)": timed(uncached, unknown),
            "hit: valid key": timed(cached, header),
            "refused before lookup: malformed": timed(cached, "Bearer op_live_nothex"),
        }


def cold_init(runs: int) -> dict[str, list[float]]:
    environment = {**os.environ, **FAKE_ENVIRONMENT, "PYTHONPATH": str(ROOT / "runtime")}
    results: dict[str, list[float]] = {name: [] for name in COLD_INIT}
    for _ in range(runs):
        for name, statement in COLD_INIT.items():
            script = (
                "import time; t = time.perf_counter(); "
                f"{statement}; print((time.perf_counter() - t) * 1000)"
            )
            output = subprocess.run(
                [sys.executable, "-c", script],
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            )
            results[name].append(float(output.stdout.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()

    print(f"Authorizer decisions, {args.calls} calls each (ms; DynamoDB = moto in-process)")
    print("| case | p50 | p99 |\n|---|---|---|")
    for name, samples in decisions(args.calls).items():
        print(f"| {name} | {percentile(samples, 0.5):.3f} | {percentile(samples, 0.99):.3f} |")

    print(f"\nCold init, median of {args.cold_runs} fresh interpreters (ms)")
    print("| module | median | ratio to baseline |\n|---|---|---|")
    cold = cold_init(args.cold_runs)
    baseline = statistics.median(next(iter(cold.values())))
    for name, samples in cold.items():
        median = statistics.median(samples)
        print(f"| {name} | {median:.0f} | {median / baseline:.2f} |")


if __name__ == "__main__":
    main()
