"""docs/cost.md is what cdk_app.cost derives from today's templates, and dev idles cheaply."""

from pathlib import Path

from aws_cdk.assertions import Template

from cdk_app.cost import document, fixed_resources, monthly_cost
from cdk_app.stack import OutpostStack

COST_DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "cost.md"
SPEC_TEN_TENANTS = 210


def test_the_committed_cost_document_is_current(
    stacks: dict[str, OutpostStack], templates: dict[str, Template]
) -> None:
    rows = {
        env: (stacks[env].settings, fixed_resources(templates[env].to_json()))
        for env in ("dev", "prod")
    }
    assert document(rows) in COST_DOCUMENT.read_text(), "run: python -m cdk_app.cost docs/cost.md"


def test_dev_idles_well_under_the_specs_estimate(
    stacks: dict[str, OutpostStack], templates: dict[str, Template]
) -> None:
    fixed = fixed_resources(templates["dev"].to_json())
    idle = sum(monthly_cost(stacks["dev"].settings, fixed, 0).values())
    assert idle < SPEC_TEN_TENANTS / 2
