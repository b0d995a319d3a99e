"""Builds the CDK app: one OutpostStack per environment, or only ``-c env=NAME``; cdk-nag's
AwsSolutions pack checks every stack at synth."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from cdk_app.config import CONTEXT_KEY, load_environments
from cdk_app.stack import OutpostStack

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"
SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


def cdk_json_context() -> dict[str, Any]:
    """The context cdk.json gives the CLI, for building the same app outside it (tests)."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return context


def new_app(*, context: Mapping[str, Any] | None = None, bundle: bool = True) -> App:
    """An App; ``bundle=False`` skips Lambda bundling (tests, quick listings). The CLI refuses
    ``aws:`` context on its command line, hence the post-CLI context."""
    return App(context=dict(context or {}), post_cli_context=None if bundle else SKIP_BUNDLING)


def build(app: App, *, nag: bool = True) -> list[OutpostStack]:
    """Add the stacks; ``nag=False`` leaves cdk-nag out (tests that assert other properties)."""
    environments = load_environments(app.node.try_get_context(CONTEXT_KEY) or {})
    selected = app.node.try_get_context("env")
    if selected is not None and selected not in environments:
        raise ValueError(
            f"unknown environment {selected!r}; cdk.json declares {list(environments)}"
        )
    account_env = Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
    )
    stacks = [
        OutpostStack(app, settings.stack_name, settings=settings, env=account_env)
        for name, settings in environments.items()
        if selected in (None, name)
    ]
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks
