"""On demand: a real agent CLI (Aider) driven by the worker in local mode, against a fake
model endpoint on 127.0.0.1 that scripts a file edit.

    make test-real-cli

installs aider-chat (pinned as in worker_image/Dockerfile) into .real-cli/ and runs this with
OUTPOST_TEST_AIDER pointing at it. Without that variable the test is skipped: the install is
about 550 MB and a minute and a half, too heavy for every CI run.
"""

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.integration.conftest import LocalSystem
from tests.integration.test_local_worker import FINAL, playground, submit, wait_for

AIDER = os.environ.get("OUTPOST_TEST_AIDER")
__all__ = ["playground"]  # the bare repositories and workspaces, as the worker tests use
pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.skipif(not AIDER, reason="set OUTPOST_TEST_AIDER (make test-real-cli)"),
]
DEEPSEEK_KEY = "sk-deepseek-fake-" + "0" * 16
# Aider's "diff" edit format: a new file is a SEARCH/REPLACE block with nothing to search.
EDIT = (
    "NOTES.md\n```markdown\n<<<<<<< SEARCH\n=======\n"
    "Written by the fake model.\n>>>>>>> REPLACE\n```\n"
)


class FakeModel(BaseHTTPRequestHandler):
    """An OpenAI-style chat completions endpoint (what LiteLLM calls for DeepSeek)."""

    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        FakeModel.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        answer = json.dumps(
            {
                "id": "fake",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "deepseek-chat"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": EDIT},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture(scope="module")
def fake_model() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def local_environment(playground: Path, fake_model: str) -> dict[str, str]:
    assert AIDER
    return {
        "PATH": f"{Path(AIDER).parent}:{os.environ['PATH']}",
        "OUTPOST_GIT_BASE_URL": f"file://{playground / 'repos'}",
        "OUTPOST_WORKSPACE_ROOT": str(playground / "workspaces"),
        "OUTPOST_DEEPSEEK_BASE_URL": fake_model,
    }


def test_aider_edits_a_file_through_the_worker(local_system: LocalSystem, playground: Path) -> None:
    tenant = local_system.onboard("pro", "aider@realcli.example")
    assert (
        local_system.call("PUT", "/v1/secrets/deepseek", tenant["live"], {"value": DEEPSEEK_KEY})[0]
        == 200
    )
    task_id = submit(local_system, tenant["live"], "Create NOTES.md", executor="aider")
    task = wait_for(local_system, tenant["live"], task_id, FINAL, seconds=180)
    assert (task["status"], task["changes"], task["exit_code"]) == (
        "completed",
        "uncommitted",
        0,
    ), task
    assert FakeModel.requests, "aider never called the fake model"
    assert FakeModel.requests[0]["auth"] == f"Bearer {DEEPSEEK_KEY}"
    bare = playground / "repos" / "octo" / "hello.git"
    shown = subprocess.run(
        ["git", "--git-dir", str(bare), "show", f"outpost/{task_id}:NOTES.md"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == "Written by the fake model.\n"
    files = subprocess.run(
        ["git", "--git-dir", str(bare), "ls-tree", "--name-only", f"outpost/{task_id}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [name for name in files if name.startswith(".aider")]
