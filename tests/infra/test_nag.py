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


def test_aws_solutions_checks_pass() -> None:
    app, stacks = nagged_app()
    assembly = app.synth()
    assert sorted(s.stack_name for s in assembly.stacks) == sorted(s.stack_name for s in stacks)


def test_checks_are_live() -> None:
    """The control: a bucket without access logs or TLS enforcement must fail synth."""
    app, stacks = nagged_app()
    s3.Bucket(stacks[0], "NonCompliant")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
