"""Bare repositories for a local git base (OUTPOST_GIT_BASE_URL=file://<base>), which local
mode's workers clone from and push to as they would to GitHub."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

AUTHOR = ["-c", "user.name=Outpost local", "-c", "user.email=local@outpost.invalid"]


def seed_repository(base: Path, owner_repo: str, files: Mapping[str, str]) -> Path:
    """``base/<owner>/<repo>.git``, holding one commit of ``files`` on ``main``."""
    bare = base / f"{owner_repo}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="outpost-seed-") as folder:
        source = Path(folder)
        for name, content in files.items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_text(content)
        for command in (
            ["git", "init", "--quiet", "--initial-branch=main", str(source)],
            ["git", *AUTHOR, "-C", str(source), "add", "--all"],
            ["git", *AUTHOR, "-C", str(source), "commit", "--quiet", "-m", "Initial commit"],
            ["git", "clone", "--quiet", "--bare", str(source), str(bare)],
        ):
            subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    return bare
