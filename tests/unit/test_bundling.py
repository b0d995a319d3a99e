"""The Lambda bundle's inputs: the dependency list is pyproject's, the hash is deterministic."""

import tomllib
from pathlib import Path

from cdk_app.config import LambdaSettings
from cdk_app.constructs import bundling

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_requirements_are_pyprojects_less_what_lambda_provides() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    bundled = bundling.lambda_requirements()
    assert set(bundled) == {r for r in declared if not r.startswith(("boto3", "botocore"))}
    assert any(r.startswith("pydantic==") for r in bundled)
    assert any(r.startswith("aws-lambda-powertools[tracer]==") for r in bundled)
    assert all("==" in r for r in bundled), "bundled dependencies must be pinned"


def test_pip_targets_the_configured_runtime_and_architecture() -> None:
    arm = bundling.pip_arguments(LambdaSettings(runtime="python3.13", architecture="arm64"))
    assert arm[arm.index("--python-version") + 1] == "3.13"
    assert arm[arm.index("--platform") + 1] == "manylinux2014_aarch64"
    assert "--only-binary=:all:" in arm
    x86 = bundling.pip_arguments(LambdaSettings(architecture="x86_64"))
    assert x86[x86.index("--platform") + 1] == "manylinux2014_x86_64"


def test_asset_hash_is_stable_and_follows_the_target() -> None:
    settings = LambdaSettings()
    assert bundling.asset_hash(settings) == bundling.asset_hash(LambdaSettings())
    assert bundling.asset_hash(settings) != bundling.asset_hash(
        LambdaSettings(architecture="x86_64")
    )


def test_asset_hash_ignores_bytecode(tmp_path: Path) -> None:
    before = bundling.asset_hash(LambdaSettings())
    cache = bundling.RUNTIME_ROOT / bundling.PACKAGE / "__pycache__"
    cache.mkdir(exist_ok=True)
    stray = cache / "stray-for-test.cpython-311.pyc"
    stray.write_bytes(b"\0")
    try:
        assert bundling.asset_hash(LambdaSettings()) == before
    finally:
        stray.unlink()
