"""git, as the worker runs it in a workspace an agent may have tampered with.

Every command runs with no system or global config, hooks pointed at /dev/null, fsmonitor
off and the workspace as the only safe directory; before the worker's own commands after the
agent ran, the repository's config is put back as it was after the clone (an agent could
have added a filter driver, an external diff, a pager, or a URL rewrite that sends the token
elsewhere). The tenant's token reaches git only through GIT_ASKPASS, for clone and push,
and is never written into the repository's config or a URL.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from outpost.models.task import ERROR_MAX_CHARS

GIT_TIMEOUT_SECONDS = 600
CLONE_DEPTH = 100
COMMITTER = ("Outpost", "agent@outpost.invalid")
ASKPASS_SCRIPT = """#!/bin/sh
case "$1" in
  Username*) echo x-access-token ;;
  *) echo "$OUTPOST_GIT_TOKEN" ;;
esac
"""


class GitFailed(RuntimeError):
    """A git command failed; the message is safe to record (it never holds the token)."""


class WorkspaceTampered(RuntimeError):
    """The agent replaced .git with something that is not the clone's own directory."""


@dataclass(frozen=True)
class Git:
    repo: Path
    private: Path
    base_url: str

    def remote(self, owner_repo: str) -> str:
        return f"{self.base_url.rstrip('/')}/{owner_repo}.git"

    def _env(self, token: str | None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.private),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
        if token is not None:
            env["GIT_ASKPASS"] = str(self._askpass())
            env["OUTPOST_GIT_TOKEN"] = token
        return env

    def _askpass(self) -> Path:
        script = self.private / "askpass.sh"
        if not script.exists():
            script.write_text(ASKPASS_SCRIPT)
            script.chmod(stat.S_IRWXU)
        return script

    def run(self, *args: str, token: str | None = None, cwd: Path | None = None) -> str:
        command = [
            "git",
            "-c", "core.hooksPath=/dev/null",
            "-c", "core.fsmonitor=false",
            "-c", f"safe.directory={self.repo}",
            *args,
        ]  # fmt: skip
        result = subprocess.run(  # noqa: S603 - argv list, no shell
            command,
            cwd=cwd or self.repo,
            env=self._env(token),
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            if token:
                detail = detail.replace(token, "***")
            raise GitFailed(f"git {args[0]} failed: {detail}"[:ERROR_MAX_CHARS])
        return result.stdout

    def clone(self, owner_repo: str, ref: str | None, token: str | None) -> str:
        """Clone into ``repo`` at ``ref`` (default branch when None); the commit checked out.
        A branch or tag clones shallow; a commit id falls back to a full clone."""
        url = self.remote(owner_repo)
        parent = self.repo.parent
        shallow = ["clone", "--quiet", "--depth", str(CLONE_DEPTH), "--no-tags"]
        try:
            self.run(
                *shallow,
                *(["--branch", ref] if ref else []),
                "--",
                url,
                str(self.repo),
                token=token,
                cwd=parent,
            )
        except GitFailed:
            if ref is None:
                raise
            shutil.rmtree(self.repo, ignore_errors=True)
            self.run(
                "clone",
                "--quiet",
                "--no-checkout",
                "--",
                url,
                str(self.repo),
                token=token,
                cwd=parent,
            )
            self.run("checkout", "--quiet", "--detach", ref)
        shutil.copyfile(self.repo / ".git" / "config", self.private / "git-config")
        return self.head()

    def exclude(self, patterns: tuple[str, ...]) -> None:
        """Keep the agent CLI's own files out of what the worker commits."""
        if patterns:
            (self.repo / ".git" / "info").mkdir(exist_ok=True)
            with (self.repo / ".git" / "info" / "exclude").open("a") as excludes:
                excludes.write("".join(f"{pattern}\n" for pattern in patterns))

    def head(self) -> str:
        return self.run("rev-parse", "HEAD").strip()

    def restore_config(self) -> None:
        """Undo whatever the agent did to the repository's git machinery."""
        git_dir = self.repo / ".git"
        if git_dir.is_symlink() or not git_dir.is_dir():
            raise WorkspaceTampered("the agent replaced the repository's .git directory")
        shutil.copyfile(self.private / "git-config", git_dir / "config")
        shutil.rmtree(git_dir / "hooks", ignore_errors=True)
        (git_dir / "info" / "attributes").unlink(missing_ok=True)

    def commit_all(self, message: str) -> bool:
        """Commit whatever the agent left uncommitted; False when the tree was clean."""
        if not self.run("status", "--porcelain", "--untracked-files=all").strip():
            return False
        self.run("add", "--all")
        name, email = COMMITTER
        self.run(
            "-c", f"user.name={name}", "-c", f"user.email={email}",
            "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message,
        )  # fmt: skip
        return True

    def commits_since(self, base: str) -> int:
        return int(self.run("rev-list", "--count", f"{base}..HEAD").strip() or 0)

    def diff(self, base: str) -> str:
        return self.run("diff", "--binary", "--no-ext-diff", "--no-textconv", base, "HEAD")

    def push(self, owner_repo: str, branch: str, token: str | None) -> None:
        self.run(
            "push", "--quiet", "--force", "--no-verify",
            self.remote(owner_repo), f"HEAD:refs/heads/{branch}",
            token=token,
        )  # fmt: skip

    def tracked_files(self) -> list[str]:
        return self.run("ls-files", "-z").split("\0")[:-1]

    def recent_subjects(self, count: int) -> list[str]:
        return self.run("log", f"-{count}", "--format=%s").splitlines()
