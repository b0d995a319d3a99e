"""Print what a synthesized cloud assembly declares, and check the Lambda bundle.

``python -m cdk_app.summary cdk.out`` lists each stack's resources by type and the size of
each Lambda asset; it exits non-zero if a bundled asset lacks a package the runtime needs.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import outpost

PACKAGE = outpost.__name__

REQUIRED_IN_BUNDLE = (PACKAGE, "pydantic", "pydantic_core", "aws_lambda_powertools", "aws_xray_sdk")
NOT_IN_BUNDLE = ("boto3", "botocore")


def describe_stacks(assembly: Path) -> list[str]:
    lines = []
    for path in sorted(assembly.glob("*.template.json")):
        resources = json.loads(path.read_text(encoding="utf-8")).get("Resources", {})
        lines.append(f"{path.name.removesuffix('.template.json')}: {len(resources)} resources")
        counts = Counter(resource["Type"] for resource in resources.values())
        lines.extend(f"  {count:3d}  {kind}" for kind, count in sorted(counts.items()))
    return lines


def _size_mb(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 1_000_000


def check_bundles(assembly: Path) -> tuple[list[str], list[str]]:
    """Lines describing each bundled Lambda asset, and the problems found in them."""
    lines, problems = [], []
    for asset in sorted(p for p in assembly.glob("asset.*") if (p / PACKAGE).is_dir()):
        lines.append(f"Lambda asset {asset.name[:18]}…: {_size_mb(asset):.1f} MB unzipped")
        problems += [
            f"{asset.name} lacks {name}"
            for name in REQUIRED_IN_BUNDLE
            if not (asset / name).is_dir()
        ]
        problems += [
            f"{asset.name} bundles {name}, which Lambda provides"
            for name in NOT_IN_BUNDLE
            if (asset / name).exists()
        ]
    return lines, problems


def main(argv: list[str]) -> int:
    assembly = Path(argv[0] if argv else "cdk.out")
    bundle_lines, problems = check_bundles(assembly)
    print("\n".join(describe_stacks(assembly) + bundle_lines))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
