"""The one definition of each S3 bucket's role. In the cloud CDK names buckets (bucket names
are global); functions learn the name through the environment variable named here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BucketSpec:
    logical_id: str
    env_var: str

    def local_name(self, environment: str) -> str:
        return f"outpost-{self.logical_id}-{environment}"


AUDIT_ARCHIVE = BucketSpec(logical_id="audit-archive", env_var="OUTPOST_AUDIT_ARCHIVE_BUCKET")

# Each run's output.log, diff.patch and result.json, under runs/<tenant_id>/<run_id>/.
RUNS = BucketSpec(logical_id="runs", env_var="OUTPOST_RUNS_BUCKET")

ALL_BUCKETS: tuple[BucketSpec, ...] = (AUDIT_ARCHIVE, RUNS)
