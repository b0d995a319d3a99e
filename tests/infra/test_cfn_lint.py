"""cfn-lint finds no error and no warning (but those .cfnlintrc.yaml ignores, with reasons)."""

import json
from pathlib import Path

import pytest
import yaml
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint_file

from tests.infra.conftest import ENVIRONMENTS

CONFIG = Path(__file__).resolve().parents[2] / ".cfnlintrc.yaml"
IGNORED = yaml.safe_load(CONFIG.read_text())["ignore_checks"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_lint_findings(templates: dict[str, Template], env: str, tmp_path: Path) -> None:
    path = tmp_path / f"Outpost-{env}.template.json"
    path.write_text(json.dumps(templates[env].to_json()))
    findings = [
        m for m in lint_file(path, ManualArgs(ignore_checks=IGNORED)) if m.rule.id[0] in "EW"
    ]
    assert not findings, "\n".join(str(m) for m in findings)
