"""Least-privilege grants, narrower than CDK's defaults.

CDK's grant helpers give KMS ``kms:ReEncrypt*`` and ``kms:GenerateDataKey*`` and a table's
grants cover every index; these give exactly the actions a use needs.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

KEY_READ = ("kms:Decrypt",)
KEY_WRITE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")


def grant_key(grantee: iam.IGrantable, key: kms.IKey, *, write: bool) -> None:
    """Use of the environment's key: decrypt to read; encrypt and make data keys to write."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(KEY_WRITE if write else KEY_READ), resources=[key.key_arn])
    )


def grant_item_actions(
    grantee: iam.IGrantable, actions: list[str], *tables: dynamodb.ITable
) -> None:
    """Exactly these actions on the tables themselves (Table.grant would add every index)."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=actions, resources=[table.table_arn for table in tables])
    )
