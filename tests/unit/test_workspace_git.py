"""The worker's git in a workspace an agent touched, and the prompt built from a clone."""

import subprocess
from pathlib import Path
from uuid import uuid4

import pytest

from outpost.models import TIERS, Environment, Executor, Task, Tier
from outpost.models.task import ContextLevel
from outpost.worker import prompt as prompt_module
from outpost.worker.git import Git, GitFailed, WorkspaceTampered
from outpost.worker.prompt import build_prompt

IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A folder of bare repositories, as OUTPOST_GIT_BASE_URL=file://… names it."""
    source = tmp_path / "source"
    subprocess.run(["git", "init", "-q", "-b", "main", str(source)], check=True)
    (source / "README.md").write_text("# Hello\n")
    (source / "src").mkdir()
    (source / "src" / "app.py").write_text("print('hi')\n")
    subprocess.run(["git", *IDENTITY, "-C", str(source), "add", "."], check=True)
    subprocess.run(["git", *IDENTITY, "-C", str(source), "commit", "-qm", "First"], check=True)
    subprocess.run(["git", *IDENTITY, "-C", str(source), "tag", "v1"], check=True)
    subprocess.run(
        ["git", *IDENTITY, "-C", str(source), "commit", "-qm", "Second", "--allow-empty"],
        check=True,
    )
    bare = tmp_path / "repos" / "octo" / "hello.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)
    return tmp_path / "repos"


def workspace(tmp_path: Path, base: Path) -> Git:
    (tmp_path / "ws").mkdir()
    (tmp_path / "private").mkdir()
    return Git(tmp_path / "ws" / "repo", tmp_path / "private", f"file://{base}")


def git_in(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize("ref", [None, "main", "v1"])
def test_clone_checks_out_the_ref(tmp_path: Path, base: Path, ref: str | None) -> None:
    git = workspace(tmp_path, base)
    head = git.clone("octo/hello", ref, token=None)
    subject = git_in(git.repo, "log", "-1", "--format=%s")
    assert subject == ("First" if ref == "v1" else "Second")
    assert head == git.head()


def test_a_commit_id_falls_back_to_a_full_clone(tmp_path: Path, base: Path) -> None:
    first = git_in(base / "octo" / "hello.git", "rev-parse", "main~1")
    git = workspace(tmp_path, base)
    assert git.clone("octo/hello", first, token=None) == first


def test_a_missing_repository_fails_with_a_safe_message(tmp_path: Path, base: Path) -> None:
    git = workspace(tmp_path, base)
    with pytest.raises(GitFailed, match="git clone failed"):
        git.clone("octo/missing", None, token="ghp_secret_token_value")


def test_the_token_goes_through_askpass_and_never_into_the_config(
    tmp_path: Path, base: Path
) -> None:
    git = workspace(tmp_path, base)
    git.clone("octo/hello", None, token="ghp_secret_token_value")
    assert "ghp_secret_token_value" not in (git.repo / ".git" / "config").read_text()
    assert "ghp_secret_token_value" not in (git.private / "askpass.sh").read_text()
    assert not str(git.private).startswith(str(git.repo.parent))


def test_whatever_the_agent_planted_never_runs(tmp_path: Path, base: Path) -> None:
    git = workspace(tmp_path, base)
    base_commit = git.clone("octo/hello", None, token=None)
    marker = tmp_path / "planted-ran"
    hook = f"#!/bin/sh\ntouch {marker}\n"
    for name in ("pre-commit", "post-commit", "commit-msg", "pre-push"):
        path = git.repo / ".git" / "hooks" / name
        path.write_text(hook)
        path.chmod(0o755)
    git_in(git.repo, "config", "core.hooksPath", ".git/hooks")
    git_in(git.repo, "config", "core.fsmonitor", f"touch {marker}; false")
    git_in(git.repo, "config", "filter.evil.clean", f"touch {marker}; cat")
    (git.repo / ".gitattributes").write_text("* filter=evil\n")
    git_in(git.repo, "config", f"url.file://{tmp_path}/elsewhere/.insteadOf", f"file://{base}/")
    (git.repo / "NEW.md").write_text("new\n")
    git.restore_config()
    assert git.commit_all("Outpost: test")
    git.push("octo/hello", "outpost/tsk_test", token=None)
    assert not marker.exists()
    assert git.commits_since(base_commit) == 1
    assert "NEW.md" in git.diff(base_commit)
    assert (
        git_in(base / "octo" / "hello.git", "branch", "--list", "outpost/*") == "outpost/tsk_test"
    )


def test_a_replaced_git_directory_is_refused(tmp_path: Path, base: Path) -> None:
    git = workspace(tmp_path, base)
    git.clone("octo/hello", None, token=None)
    real = git.repo / ".git"
    real.rename(git.repo / "moved")
    (git.repo / ".git").symlink_to(git.repo / "moved")
    with pytest.raises(WorkspaceTampered):
        git.restore_config()


def test_a_clean_tree_commits_nothing(tmp_path: Path, base: Path) -> None:
    git = workspace(tmp_path, base)
    git.clone("octo/hello", None, token=None)
    assert not git.commit_all("nothing")


def test_an_agent_clis_own_files_are_never_committed(tmp_path: Path, base: Path) -> None:
    git = workspace(tmp_path, base)
    git.clone("octo/hello", None, token=None)
    git.exclude((".aider*",))
    (git.repo / ".aider.chat.history.md").write_text("history")
    (git.repo / ".aider.tags.cache.v4").mkdir()
    assert not git.commit_all("nothing of the tenant's changed")


def task(context: ContextLevel) -> Task:
    made = Task.submit(
        tenant_id=uuid4(),
        environment=Environment.LIVE,
        repo="octo/hello",
        task="Add a CHANGELOG",
        executor=Executor.CLAUDE,
        limits=TIERS[Tier.PRO],
    )
    return made.model_copy(update={"context": context})


def test_prompt_levels_add_what_they_promise(tmp_path: Path, base: Path) -> None:
    git = workspace(tmp_path, base)
    git.clone("octo/hello", None, token=None)
    off = build_prompt(task(ContextLevel.OFF), git)
    minimal = build_prompt(task(ContextLevel.MINIMAL), git)
    standard = build_prompt(task(ContextLevel.STANDARD), git)
    full = build_prompt(task(ContextLevel.FULL), git)
    assert off == "Add a CHANGELOG"
    assert "README.md\nsrc/" in minimal
    assert "## README\n# Hello" in standard
    assert "## Recent commits\nSecond\nFirst" in standard
    assert "## Tracked files\nREADME.md\nsrc/app.py" in full
    assert "## Tracked files" not in standard


def test_the_prompt_is_bounded(tmp_path: Path, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git = workspace(tmp_path, base)
    git.clone("octo/hello", None, token=None)
    (git.repo / "README.md").write_text("x" * 50_000 + "\0")
    monkeypatch.setattr(prompt_module, "PROMPT_BYTES", 1_000)
    built = build_prompt(task(ContextLevel.STANDARD), git)
    assert len(built.encode()) <= 1_000
    assert "\0" not in built
    monkeypatch.setattr(prompt_module, "README_BYTES", 10)
    assert "## README\nxxxxxxxxxx\n" in build_prompt(task(ContextLevel.STANDARD), git)
