"""One snapshot per environment's template, with asset hashes masked (they follow the code).

After an intended change: `pytest tests/infra --snapshot-update`, and review the diff.
"""

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.conftest import ENVIRONMENTS

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def masked(template: Template) -> Any:
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template.to_json())))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_template(templates: dict[str, Template], env: str, snapshot: SnapshotAssertion) -> None:
    assert masked(templates[env]) == snapshot.use_extension(JSONSnapshotExtension)
