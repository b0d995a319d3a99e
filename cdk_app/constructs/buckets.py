"""The stack's data buckets, all built the same way: private, TLS-only, encrypted with the
environment's key, logging their access to the access-log bucket."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_app.config import EnvironmentSettings


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    settings: EnvironmentSettings,
    encryption_key: kms.IKey,
    access_logs: s3.IBucket,
    access_log_prefix: str,
    **options: Any,
) -> s3.Bucket:
    """``options``: what else this bucket needs (versioning, object lock, lifecycle, a
    removal policy other than the environment's)."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=encryption_key,
        bucket_key_enabled=True,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_log_prefix,
        **{"removal_policy": settings.cdk_removal_policy, **options},
    )
