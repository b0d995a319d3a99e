"""cdk-nag's AwsSolutions pack finds nothing unacknowledged in any environment.

cdk-nag 3 runs as a validation plugin: synth raises on a finding and prints the findings.
"""

import pytest
from aws_cdk import App
from aws_cdk import aws_s3 as s3

from cdk_app.application import build, cdk_json_context, new_app


def nagged_app() -> tuple[App, list]:  # type: ignore[type-arg]
    app = new_app(context=cdk_json_context(), bundle=False)
    app.node.set_context("aws:cdk:bundling-stacks", [])
    return app, build(app, nag=True)


@pytest.mark.parametrize(
    "target",
    [{}, {"CDK_DEFAULT_ACCOUNT": "123456789012", "CDK_DEFAULT_REGION": "us-east-1"}],
    ids=["environment-agnostic", "account-and-region"],
)
def test_aws_solutions_checks_pass(target: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways a stack is synthesized: tests and CI without a region, the CLI with one
    (ARNs then render differently, and acknowledgments must still match them)."""
    for name, value in target.items():
        monkeypatch.setenv(name, value)
    app, stacks = nagged_app()
    assembly = app.synth()
    assert sorted(s.stack_name for s in assembly.stacks) == sorted(s.stack_name for s in stacks)


def test_checks_are_live() -> None:
    """The control: a bucket without access logs or TLS enforcement must fail synth."""
    app, stacks = nagged_app()
    s3.Bucket(stacks[0], "NonCompliant")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
