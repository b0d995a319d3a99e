"""The executor registry: each CLI's headless argv, its one key, and how its outcome is judged."""

import json
from pathlib import Path

import pytest

from outpost.models.secret import Provider
from outpost.models.tier import Agent
from outpost.worker.executors import EXECUTORS, AgentRun, last_json_object

PROMPT = "Fix the bug; $(rm -rf /) `whoami` && echo pwned"


def test_every_agent_has_exactly_one_executor() -> None:
    assert set(EXECUTORS) == set(Agent)
    assert {spec.binary for spec in EXECUTORS.values()} == {a.value for a in Agent}


@pytest.mark.parametrize("agent", list(Agent))
def test_the_prompt_travels_as_one_argv_element(agent: Agent, tmp_path: Path) -> None:
    argv = EXECUTORS[agent].argv(f"/usr/bin/{agent.value}", PROMPT, tmp_path, None)
    assert argv[0] == f"/usr/bin/{agent.value}"
    assert argv.count(PROMPT) == 1


def test_command_lines_match_the_cli_facts(tmp_path: Path) -> None:
    def argv(agent: Agent, base: str | None = None) -> list[str]:
        return EXECUTORS[agent].argv(agent.value, "P", tmp_path, base)

    assert argv(Agent.CLAUDE) == [
        "claude", "-p", "P", "--output-format", "json", "--permission-mode", "acceptEdits",
    ]  # fmt: skip
    assert argv(Agent.CODEX) == [
        "codex",
        "exec",
        "--json",
        "-s",
        "workspace-write",
        "-C",
        str(tmp_path),
        "P",
    ]
    assert argv(Agent.CODEX, "http://127.0.0.1:9/v1")[-3:] == [
        "-c", 'openai_base_url="http://127.0.0.1:9/v1"', "P",
    ]  # fmt: skip
    assert argv(Agent.GEMINI) == ["gemini", "-p", "P", "--yolo", "--skip-trust", "-o", "json"]
    assert argv(Agent.GROK) == ["grok", "-p", "P", "--output-format", "json", "--always-approve"]
    aider = argv(Agent.AIDER)
    assert aider[:5] == ["aider", "--model", "deepseek/deepseek-chat", "--message", "P"]
    assert {"--yes-always", "--no-auto-commits", "--no-check-update", "--no-analytics"} <= set(
        aider
    )


def test_each_cli_gets_its_one_key_and_base_url(tmp_path: Path) -> None:
    expected = {
        Agent.CLAUDE: (Provider.ANTHROPIC, "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
        Agent.CODEX: (Provider.OPENAI, "CODEX_API_KEY", None),
        Agent.GEMINI: (Provider.GOOGLE, "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"),
        Agent.AIDER: (Provider.DEEPSEEK, "DEEPSEEK_API_KEY", "DEEPSEEK_API_BASE"),
        Agent.GROK: (Provider.XAI, "XAI_API_KEY", "GROK_XAI_API_BASE_URL"),
    }
    for agent, (provider, key_variable, base_variable) in expected.items():
        spec = EXECUTORS[agent]
        assert spec.provider is provider
        variables = spec.environment_for("k", tmp_path, "http://127.0.0.1:1")
        assert variables[key_variable] == "k"
        keys = [name for name in variables if name.endswith(("_KEY", "_TOKEN"))]
        assert keys == [key_variable], "one provider key, no other"
        if base_variable:
            assert variables[base_variable] == "http://127.0.0.1:1"
    assert EXECUTORS[Agent.CODEX].environment_for("k", tmp_path, None)["CODEX_HOME"] == str(
        tmp_path / ".codex"
    )


def test_gemini_gets_its_settings_file(tmp_path: Path) -> None:
    EXECUTORS[Agent.GEMINI].prepare_home(tmp_path)
    settings = json.loads((tmp_path / ".gemini" / "settings.json").read_text())
    assert settings == {"security": {"auth": {"selectedType": "gemini-api-key"}}}


@pytest.mark.parametrize(
    ("agent", "run", "succeeded", "judged_by"),
    [
        (Agent.CLAUDE, AgentRun(0, '{"is_error": false}', True), True, "exit code and JSON result"),
        (
            Agent.CLAUDE,
            AgentRun(0, 'noise\n{"is_error": true}', False),
            False,
            "exit code and JSON result",
        ),
        (Agent.CLAUDE, AgentRun(0, "no json at all", True), False, "exit code and JSON result"),
        (Agent.CLAUDE, AgentRun(1, '{"is_error": false}', False), False, "exit code"),
        (
            Agent.GROK,
            AgentRun(0, '{"error": "refused"}', False),
            False,
            "exit code and JSON result",
        ),
        (Agent.CODEX, AgentRun(1, "", False), False, "exit code"),
        (Agent.CODEX, AgentRun(0, "", True), True, "exit code"),
        (Agent.GEMINI, AgentRun(41, "", False), False, "exit code"),
        (
            Agent.AIDER,
            AgentRun(0, "litellm.AuthenticationError: bad key", False),
            False,
            "output and tree",
        ),
        (Agent.AIDER, AgentRun(0, "Applied edit to app.py", True), True, "exit code and tree"),
        (Agent.AIDER, AgentRun(0, "Nothing to change.", False), True, "exit code and output"),
    ],
)
def test_outcomes_are_judged_from_what_each_cli_really_signals(
    agent: Agent, run: AgentRun, succeeded: bool, judged_by: str
) -> None:
    verdict = EXECUTORS[agent].judge(run)
    assert (verdict.succeeded, verdict.judged_by) == (succeeded, judged_by)


def test_gemini_exit_codes_are_explained() -> None:
    verdict = EXECUTORS[Agent.GEMINI].judge(AgentRun(41, "", False))
    assert verdict.detail == "exited 41: authentication failed"


def test_the_last_json_object_is_the_result() -> None:
    assert last_json_object('{"a": 1}\nlog line\n{"b": 2}\n') == {"b": 2}
    assert last_json_object("[1, 2]\n{broken") is None
