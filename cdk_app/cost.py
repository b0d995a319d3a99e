"""Monthly cost of an environment, derived from its synthesized template and its settings.

    python -m cdk_app.cost docs/cost.md

Fixed costs are counted from the template (NAT gateways and their addresses, interface
endpoints and their AZs, KMS keys, secrets, alarm metrics, dashboards, the WAF) and the
settings (the minimum of always-on workers, Fargate Spot); variable costs scale with tenants
through the usage assumptions below. Prices are AWS's public list prices for us-east-1 on
2026-11-23 (the document names each); they change, so the figures are estimates.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdk_app.config import EnvironmentSettings

HOURS_PER_MONTH = 730

PRICES = {
    "nat_gateway_hour": 0.045,
    "nat_gateway_gb": 0.045,
    "public_ipv4_hour": 0.005,
    "interface_endpoint_az_hour": 0.01,
    "fargate_vcpu_hour": 0.04048,
    "fargate_gb_hour": 0.004445,
    "fargate_spot_discount": 0.70,
    "kms_key_month": 1.00,
    "secret_month": 0.40,
    "alarm_metric_month": 0.10,
    "dashboard_month": 3.00,
    "waf_acl_month": 5.00,
    "waf_rule_month": 1.00,
    "waf_million_requests": 0.60,
    "api_million_requests": 3.50,
    "lambda_million_requests": 0.20,
    "lambda_arm_gb_second": 0.0000133334,
    "dynamodb_million_writes": 1.25,
    "dynamodb_million_reads": 0.25,
    "sqs_million_requests": 0.40,
    "logs_gb_ingested": 0.50,
    "xray_million_traces": 5.00,
    "s3_gb_month": 0.023,
}


@dataclass(frozen=True)
class Usage:
    """What one tenant does in a month (assumptions; see docs/cost.md)."""

    tasks: int = 100
    runs_per_task: float = 1.2
    # Agent minutes plus a fresh container's start (jobs_per_worker=1) and the worker's own work.
    worker_minutes_per_run: float = 8.0
    api_requests_per_task: int = 15
    dynamodb_writes_per_run: int = 60
    dynamodb_reads_per_run: int = 40
    sqs_requests_per_run: int = 25
    nat_gb_per_run: float = 0.05
    log_mb_per_run: float = 0.1
    lambda_gb_seconds_per_request: float = 0.05
    artifact_gb_per_run: float = 0.0002


@dataclass(frozen=True)
class Fixed:
    nat_gateways: int
    interface_endpoint_azs: int
    kms_keys: int
    secrets: int
    alarm_metrics: int
    dashboards: int
    waf_rules: int


def fixed_resources(template: Mapping[str, Any]) -> Fixed:
    resources = template["Resources"].values()

    def of(kind: str) -> list[dict[str, Any]]:
        return [r for r in resources if r["Type"] == kind]

    endpoint_azs = sum(
        len(e["Properties"].get("SubnetIds", []))
        for e in of("AWS::EC2::VPCEndpoint")
        if e["Properties"].get("VpcEndpointType") == "Interface"
    )
    alarm_metrics = sum(
        max(1, sum(1 for m in a["Properties"].get("Metrics", []) if "MetricStat" in m))
        for a in of("AWS::CloudWatch::Alarm")
    )
    waf_rules = sum(len(w["Properties"].get("Rules", [])) for w in of("AWS::WAFv2::WebACL"))
    return Fixed(
        nat_gateways=len(of("AWS::EC2::NatGateway")),
        interface_endpoint_azs=endpoint_azs,
        kms_keys=len(of("AWS::KMS::Key")),
        secrets=len(of("AWS::SecretsManager::Secret")),
        alarm_metrics=alarm_metrics,
        dashboards=len(of("AWS::CloudWatch::Dashboard")),
        waf_rules=waf_rules,
    )


def worker_hour(settings: EnvironmentSettings, *, spot: bool) -> float:
    workers = settings.workers
    hour = (workers.cpu / 1024) * PRICES["fargate_vcpu_hour"] + (
        workers.memory_mib / 1024
    ) * PRICES["fargate_gb_hour"]
    return hour * (1 - PRICES["fargate_spot_discount"]) if spot else hour


def monthly_cost(
    settings: EnvironmentSettings, fixed: Fixed, tenants: int, usage: Usage = Usage()
) -> dict[str, float]:
    """Dollars a month by line, for ``tenants`` tenants."""
    p = PRICES
    runs = tenants * usage.tasks * usage.runs_per_task
    requests = tenants * usage.tasks * usage.api_requests_per_task
    spot = settings.workers.fargate_spot
    waf = fixed.waf_rules > 0
    return {
        "NAT gateways (hours, public IPv4)": fixed.nat_gateways
        * HOURS_PER_MONTH
        * (p["nat_gateway_hour"] + p["public_ipv4_hour"]),
        "NAT data (clones, model APIs)": runs * usage.nat_gb_per_run * p["nat_gateway_gb"],
        "VPC interface endpoints": fixed.interface_endpoint_azs
        * HOURS_PER_MONTH
        * p["interface_endpoint_az_hour"],
        "Fargate workers, always-on minimum": settings.workers.min_capacity
        * HOURS_PER_MONTH
        * worker_hour(settings, spot=False),
        "Fargate workers, runs": runs
        * usage.worker_minutes_per_run
        / 60
        * worker_hour(settings, spot=spot),
        "API Gateway": requests / 1e6 * p["api_million_requests"],
        "WAF": (
            p["waf_acl_month"]
            + fixed.waf_rules * p["waf_rule_month"]
            + requests / 1e6 * p["waf_million_requests"]
        )
        if waf
        else 0.0,
        "Lambda": requests / 1e6 * p["lambda_million_requests"]
        + requests * usage.lambda_gb_seconds_per_request * p["lambda_arm_gb_second"],
        "DynamoDB (on demand)": runs
        * (
            usage.dynamodb_writes_per_run * p["dynamodb_million_writes"]
            + usage.dynamodb_reads_per_run * p["dynamodb_million_reads"]
        )
        / 1e6,
        "SQS": runs * usage.sqs_requests_per_run / 1e6 * p["sqs_million_requests"],
        "Secrets Manager (one per tenant, Stripe keys)": (tenants + fixed.secrets)
        * p["secret_month"],
        "KMS": fixed.kms_keys * p["kms_key_month"],
        "CloudWatch alarms and dashboard": fixed.alarm_metrics * p["alarm_metric_month"]
        + fixed.dashboards * p["dashboard_month"],
        "CloudWatch Logs": runs * usage.log_mb_per_run / 1024 * p["logs_gb_ingested"],
        "X-Ray": max(0.0, requests - 100_000) / 1e6 * p["xray_million_traces"],
        "S3 (run artifacts, 30 days)": runs * usage.artifact_gb_per_run * p["s3_gb_month"],
    }


def document(rows: Mapping[str, tuple[EnvironmentSettings, Fixed]]) -> str:
    tenant_counts = (10, 100, 1000)
    lines = [
        "| line | " + " | ".join(f"{env} {n}" for env in rows for n in tenant_counts) + " |",
        "|---|" + "---:|" * (len(rows) * len(tenant_counts)),
    ]
    costs = {
        (env, n): monthly_cost(settings, fixed, n)
        for env, (settings, fixed) in rows.items()
        for n in tenant_counts
    }
    first = next(iter(costs.values()))
    for line in first:
        cells = " | ".join(f"{costs[(env, n)][line]:,.2f}" for env in rows for n in tenant_counts)
        lines.append(f"| {line} | {cells} |")
    totals = " | ".join(
        f"**{sum(costs[(env, n)].values()):,.0f}**" for env in rows for n in tenant_counts
    )
    lines.append(f"| **total ($/month)** | {totals} |")
    idle = {env: sum(monthly_cost(s, f, 0).values()) for env, (s, f) in rows.items()}
    counted = "\n".join(
        f"- `{env}`: {f.nat_gateways} NAT gateway(s), {f.interface_endpoint_azs} interface "
        f"endpoint-AZs, {s.workers.min_capacity} always-on worker(s), Fargate Spot "
        f"{'on' if s.workers.fargate_spot else 'off'}, {f.kms_keys} KMS key, {f.secrets} "
        f"secret(s) besides tenants', {f.alarm_metrics} alarm metrics, {f.dashboards} "
        f"dashboard, {f.waf_rules} WAF rules; idle (no tenants): **${idle[env]:,.0f}/month**."
        for env, (s, f) in rows.items()
    )
    return f"{counted}\n\n" + "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    from aws_cdk.assertions import Template  # noqa: PLC0415 - only for the document

    from cdk_app.application import build, cdk_json_context, new_app  # noqa: PLC0415

    app = new_app(context=cdk_json_context(), bundle=False)
    stacks = {stack.settings.name: stack for stack in build(app, nag=False)}
    rows = {
        env: (stacks[env].settings, fixed_resources(Template.from_stack(stacks[env]).to_json()))
        for env in ("dev", "prod")
    }
    target = Path(argv[0])
    text = target.read_text()
    start, end = "<!-- cost:begin -->\n", "<!-- cost:end -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    target.write_text(head + start + document(rows) + end + tail)


if __name__ == "__main__":
    main(sys.argv[1:])
