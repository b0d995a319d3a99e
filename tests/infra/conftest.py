"""Infrastructure tests synthesize the app once per session, without bundling Lambda code."""

from collections.abc import Iterator

import pytest
from aws_cdk.assertions import Template

from cdk_app.application import build, cdk_json_context, new_app
from cdk_app.stack import OutpostStack

ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(scope="session", autouse=True)
def _quiet_jsii() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
        yield


@pytest.fixture(scope="session")
def stacks() -> dict[str, OutpostStack]:
    app = new_app(context=cdk_json_context(), bundle=False)
    return {stack.settings.name: stack for stack in build(app, nag=False)}


@pytest.fixture(scope="session")
def templates(stacks: dict[str, OutpostStack]) -> dict[str, Template]:
    return {name: Template.from_stack(stack) for name, stack in stacks.items()}
