"""The agent CLIs: for each, its headless command line, the one provider key it gets, and how
to tell whether it succeeded.

Exit codes alone do not say it for every CLI (Aider exits 0 when the model call failed; Grok
exits 0 when edits were refused), so a verdict weighs the exit code, the CLI's JSON result
and whether the tree changed, and says which of them it rested on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from outpost.models.secret import Provider
from outpost.models.tier import Agent

# The model Aider drives for the spec's Aider route (DeepSeek through LiteLLM).
AIDER_MODEL = "deepseek/deepseek-chat"
GEMINI_SETTINGS = {"security": {"auth": {"selectedType": "gemini-api-key"}}}
GEMINI_EXIT_CODES = {
    41: "authentication failed",
    42: "bad input",
    52: "bad configuration",
    55: "untrusted folder",
}
# Aider reports a failed model call in its output and still exits 0.
AIDER_ERROR_MARKERS = ("litellm.", "APIError", "AuthenticationError", "API Error", "Error:")


@dataclass(frozen=True)
class Verdict:
    succeeded: bool
    judged_by: str
    detail: str | None = None


@dataclass(frozen=True)
class AgentRun:
    """What the worker knows once the CLI has exited."""

    exit_code: int
    output: str
    tree_changed: bool


ArgvBuilder = Callable[[str, str, Path, str | None], list[str]]
Judge = Callable[[AgentRun], Verdict]


@dataclass(frozen=True)
class ExecutorSpec:
    agent: Agent
    binary: str
    provider: Provider
    key_variable: str
    argv: ArgvBuilder
    judge: Judge
    base_url_variable: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    home_files: Mapping[str, str] = field(default_factory=dict)
    # Files the CLI leaves in the repository for itself (history, caches): never committed.
    droppings: tuple[str, ...] = ()

    def environment_for(self, key: str, home: Path, base_url: str | None) -> dict[str, str]:
        """The CLI's own variables: its key, its base URL override, its settings."""
        variables = {self.key_variable: key, **self.environment}
        if base_url and self.base_url_variable:
            variables[self.base_url_variable] = base_url
        if self.agent is Agent.CODEX:
            variables["CODEX_HOME"] = str(home / ".codex")
        return variables

    def prepare_home(self, home: Path) -> None:
        for relative, content in self.home_files.items():
            path = home / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)


def last_json_object(output: str) -> dict[str, object] | None:
    """The CLI's final JSON result: the last line of output that is a JSON object."""
    for raw in reversed(output.strip().splitlines()):
        line = raw.strip()
        if line.startswith("{"):
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                return parsed
    return None


def _by_exit_code(run: AgentRun, known: Mapping[int, str] = MappingProxyType({})) -> Verdict:
    if run.exit_code == 0:
        return Verdict(True, "exit code")
    reason = known.get(run.exit_code)
    return Verdict(
        False, "exit code", f"exited {run.exit_code}" + (f": {reason}" if reason else "")
    )


def _by_exit_code_and_result(run: AgentRun) -> Verdict:
    """Claude Code and Grok print one JSON result whose ``is_error`` is the real verdict."""
    result = last_json_object(run.output)
    if run.exit_code != 0:
        return Verdict(False, "exit code", f"exited {run.exit_code}")
    if result is None:
        return Verdict(False, "exit code and JSON result", "no JSON result in the output")
    if result.get("is_error") or result.get("error"):
        return Verdict(False, "exit code and JSON result", "the agent reported an error")
    return Verdict(True, "exit code and JSON result")


def _gemini(run: AgentRun) -> Verdict:
    verdict = _by_exit_code(run, GEMINI_EXIT_CODES)
    result = last_json_object(run.output)
    if verdict.succeeded and result is not None and result.get("error"):
        return Verdict(False, "exit code and JSON result", "the agent reported an error")
    return verdict


def _aider(run: AgentRun) -> Verdict:
    """Aider exits 0 even when the model call failed: its output and the tree decide."""
    if run.exit_code != 0:
        return Verdict(False, "exit code", f"exited {run.exit_code}")
    if run.tree_changed:
        return Verdict(True, "exit code and tree")
    if any(marker in run.output for marker in AIDER_ERROR_MARKERS):
        return Verdict(False, "output and tree", "the model call failed (see output.log)")
    return Verdict(True, "exit code and output")


EXECUTORS: MappingProxyType[Agent, ExecutorSpec] = MappingProxyType(
    {
        Agent.CLAUDE: ExecutorSpec(
            agent=Agent.CLAUDE,
            binary="claude",
            provider=Provider.ANTHROPIC,
            key_variable="ANTHROPIC_API_KEY",
            base_url_variable="ANTHROPIC_BASE_URL",
            argv=lambda cli, prompt, _workspace, _base: [
                cli,
                "-p",
                prompt,
                "--output-format",
                "json",
                "--permission-mode",
                "acceptEdits",
            ],
            judge=_by_exit_code_and_result,
            environment={"CLAUDE_CODE_MAX_RETRIES": "2", "DISABLE_AUTOUPDATER": "1"},
        ),
        Agent.CODEX: ExecutorSpec(
            agent=Agent.CODEX,
            binary="codex",
            provider=Provider.OPENAI,
            key_variable="CODEX_API_KEY",
            # OPENAI_BASE_URL is ignored by Codex: the base URL goes in as a config override.
            argv=lambda cli, prompt, workspace, base: [
                cli,
                "exec",
                "--json",
                "-s",
                "workspace-write",
                "-C",
                str(workspace),
                *(["-c", f'openai_base_url="{base}"'] if base else []),
                prompt,
            ],
            judge=_by_exit_code,
        ),
        Agent.GEMINI: ExecutorSpec(
            agent=Agent.GEMINI,
            binary="gemini",
            provider=Provider.GOOGLE,
            key_variable="GEMINI_API_KEY",
            base_url_variable="GOOGLE_GEMINI_BASE_URL",
            argv=lambda cli, prompt, _workspace, _base: [
                cli,
                "-p",
                prompt,
                "--yolo",
                "--skip-trust",
                "-o",
                "json",
            ],
            judge=_gemini,
            home_files={".gemini/settings.json": json.dumps(GEMINI_SETTINGS)},
        ),
        Agent.AIDER: ExecutorSpec(
            agent=Agent.AIDER,
            binary="aider",
            provider=Provider.DEEPSEEK,
            key_variable="DEEPSEEK_API_KEY",
            base_url_variable="DEEPSEEK_API_BASE",
            argv=lambda cli, prompt, _workspace, _base: [
                cli,
                "--model",
                AIDER_MODEL,
                "--message",
                prompt,
                "--yes-always",
                "--no-auto-commits",
                "--no-check-update",
                "--no-analytics",
                "--no-show-release-notes",
                "--no-pretty",
                "--no-stream",
                "--no-gitignore",
            ],
            judge=_aider,
            droppings=(".aider*",),
        ),
        Agent.GROK: ExecutorSpec(
            agent=Agent.GROK,
            binary="grok",
            provider=Provider.XAI,
            key_variable="XAI_API_KEY",
            base_url_variable="GROK_XAI_API_BASE_URL",
            # Without --always-approve edits are refused, and it still exits 0.
            argv=lambda cli, prompt, _workspace, _base: [
                cli,
                "-p",
                prompt,
                "--output-format",
                "json",
                "--always-approve",
            ],
            judge=_by_exit_code_and_result,
        ),
    }
)
