"""Lambda code for the runtime package, bundled without Docker.

pip installs the runtime's dependencies for Lambda's platform (manylinux wheels only, for the
Python version of the configured runtime) next to a copy of ``runtime/outpost``. The
dependency list is pyproject.toml's, less what Lambda's Python runtime already ships.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from cdk_app.config import LambdaSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_ROOT = PROJECT_ROOT / "runtime"
PACKAGE = "outpost"
# Lambda's Python runtimes include boto3 and botocore; bundling them would add ~25 MB. They are
# left out of the requirements, and pruned after pip when a dependency (the X-Ray SDK) pulls
# them in anyway.
PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore"})
PRUNED = ("boto3", "botocore", "s3transfer")
EXCLUDED = ("__pycache__", "*.pyc", "*.egg-info")
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


def _distribution_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    if match is None:
        raise ValueError(f"cannot read a distribution name from {requirement!r}")
    return match.group(0).lower().replace("_", "-")


@cache
def lambda_requirements() -> tuple[str, ...]:
    """The pinned runtime dependencies to bundle, read from pyproject.toml."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements: list[str] = project["project"]["dependencies"]
    return tuple(r for r in requirements if _distribution_name(r) not in PROVIDED_BY_LAMBDA)


def pip_arguments(settings: LambdaSettings) -> list[str]:
    return [
        "install",
        "--quiet",
        "--no-compile",
        "--disable-pip-version-check",
        "--platform",
        PLATFORMS[settings.architecture],
        "--implementation",
        "cp",
        "--python-version",
        settings.python_version,
        "--only-binary=:all:",
        *lambda_requirements(),
    ]


def _source_files() -> list[Path]:
    package = RUNTIME_ROOT / PACKAGE
    return sorted(
        path
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def asset_hash(settings: LambdaSettings) -> str:
    """Changes exactly when the bundle would: the sources, the pins, or the target platform.

    Computed here rather than by CDK so it is the same on every machine and never depends on
    how the bundling options serialise.
    """
    digest = hashlib.sha256()
    digest.update("\0".join(pip_arguments(settings)).encode())
    for path in _source_files():
        digest.update(str(path.relative_to(RUNTIME_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class PipBundling:
    """Local bundling: pip for Lambda's platform, then a copy of the runtime package."""

    def __init__(self, settings: LambdaSettings) -> None:
        self._settings = settings

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        command = [
            sys.executable,
            "-m",
            "pip",
            *pip_arguments(self._settings),
            "--target",
            output_dir,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            # Returning False makes CDK try Docker, whose error hides pip's: say pip's first.
            print(f"pip could not bundle the Lambda code:\n{result.stderr}", file=sys.stderr)
            return False
        for installed in Path(output_dir).iterdir():
            if installed.name.split("-")[0] in PRUNED:
                shutil.rmtree(installed)
        shutil.copytree(
            RUNTIME_ROOT / PACKAGE,
            Path(output_dir) / PACKAGE,
            ignore=shutil.ignore_patterns(*EXCLUDED),
        )
        return True


def runtime_code(settings: LambdaSettings) -> lambda_.Code:
    """The runtime package with its dependencies, as Lambda code (one new asset per call)."""
    requirements = " ".join(lambda_requirements())
    pruned = " ".join(f"/asset-output/{name} /asset-output/{name}-*" for name in PRUNED)
    return lambda_.Code.from_asset(
        str(RUNTIME_ROOT),
        asset_hash=asset_hash(settings),
        asset_hash_type=AssetHashType.CUSTOM,
        exclude=[f"**/{pattern}" for pattern in EXCLUDED],
        bundling=BundlingOptions(
            image=settings.lambda_runtime.bundling_image,
            local=PipBundling(settings),
            # Only if local bundling fails (a machine with Docker and no usable pip).
            command=[
                "bash",
                "-c",
                f"pip install --no-compile -t /asset-output {requirements} "
                f"&& rm -rf {pruned} "
                f"&& cp -r /asset-input/{PACKAGE} /asset-output/",
            ],
        ),
    )
