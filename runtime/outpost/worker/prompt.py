"""The prompt an agent receives: the task, with as much of the repository as the tenant asked.

Levels and their bounds (the prompt is one argv element, which Linux caps at 128 KiB):
- off: the task text only;
- minimal: plus the repository's top-level entries (at most 200 names);
- standard: plus the README (first 8 KiB) and the last 20 commit subjects;
- full: plus a map of tracked files (at most 2,000 paths and 48 KiB).
The whole prompt is cut at 100 KiB.
"""

from __future__ import annotations

from pathlib import Path

from outpost.models.task import ContextLevel, Task
from outpost.worker.git import Git

TOP_LEVEL_ENTRIES = 200
README_BYTES = 8 * 1024
RECENT_COMMITS = 20
MAP_PATHS = 2_000
MAP_BYTES = 48 * 1024
PROMPT_BYTES = 100 * 1024
README_NAMES = ("README.md", "README.rst", "README.txt", "README")


def _top_level(repo: Path) -> str:
    names = sorted(
        entry.name + ("/" if entry.is_dir() else "")
        for entry in repo.iterdir()
        if entry.name != ".git"
    )
    shown = names[:TOP_LEVEL_ENTRIES]
    more = f"\n… and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
    return "\n".join(shown) + more


def _readme(repo: Path) -> str | None:
    for name in README_NAMES:
        path = repo / name
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                return handle.read(README_BYTES).decode("utf-8", errors="replace")
    return None


def _repository_map(git: Git) -> str:
    paths = git.tracked_files()
    lines: list[str] = []
    size = 0
    for path in paths[:MAP_PATHS]:
        size += len(path.encode()) + 1
        if size > MAP_BYTES:
            break
        lines.append(path)
    if len(lines) < len(paths):
        lines.append(f"… and {len(paths) - len(lines)} more files")
    return "\n".join(lines)


def build_prompt(task: Task, git: Git) -> str:
    """Built from the clone before the agent runs (nothing of the agent's is read here)."""
    sections = [task.task]
    level = task.context
    if level is not ContextLevel.OFF:
        sections.append(f"## Repository {task.repo}: top-level entries\n{_top_level(git.repo)}")
    if level in (ContextLevel.STANDARD, ContextLevel.FULL):
        readme = _readme(git.repo)
        if readme:
            sections.append(f"## README\n{readme}")
        subjects = git.recent_subjects(RECENT_COMMITS)
        if subjects:
            sections.append("## Recent commits\n" + "\n".join(subjects))
    if level is ContextLevel.FULL:
        sections.append(f"## Tracked files\n{_repository_map(git)}")
    # A NUL cannot travel in argv; a binary README could hold one.
    prompt = "\n\n".join(sections).replace("\0", "")
    encoded = prompt.encode()
    if len(encoded) > PROMPT_BYTES:
        prompt = encoded[:PROMPT_BYTES].decode("utf-8", errors="ignore")
    return prompt
