"""Validation of every format the domain models accept or refuse."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from pydantic import ValidationError

from outpost.models import (
    TIERS,
    Agent,
    ApiKey,
    AuditEntry,
    Environment,
    Executor,
    Run,
    Scope,
    Task,
    TaskStatus,
    Tenant,
    Tier,
    UsageKind,
    UsageRecord,
    aggregate_status,
)
from outpost.models.api_key import (
    InvalidApiKeyFormat,
    display_prefix,
    generate_api_key,
    hash_api_key,
    parse_environment,
)
from outpost.models.common import format_timestamp
from outpost.models.task import TASK_TEXT_MAX_CHARS

TENANT = uuid4()


def a_task(**overrides: object) -> Task:
    fields: dict[str, object] = {
        "tenant_id": TENANT,
        "environment": Environment.LIVE,
        "repo": "octo-org/hello-world",
        "task": "Add a README",
        "executor": Executor.CLAUDE,
        "limits": TIERS[Tier.PRO],
    }
    fields.update(overrides)
    return Task.submit(**fields)  # type: ignore[arg-type]


class TestTiers:
    def test_tier_table_matches_the_spec(self) -> None:
        free, pro, enterprise = TIERS[Tier.FREE], TIERS[Tier.PRO], TIERS[Tier.ENTERPRISE]
        assert (free.daily_requests, free.concurrency, free.agents) == (10, 1, {Agent.CLAUDE})
        assert (pro.daily_requests, pro.concurrency, pro.agents) == (100, 3, set(Agent))
        assert (enterprise.daily_requests, enterprise.concurrency) == (None, 10)
        assert enterprise.priority > pro.priority > free.priority

    def test_tier_table_is_read_only(self) -> None:
        with pytest.raises(TypeError):
            TIERS[Tier.FREE] = TIERS[Tier.PRO]  # type: ignore[index]


class TestTenant:
    def test_defaults(self) -> None:
        tenant = Tenant(name="Acme", email="ops@acme.example")
        assert tenant.tier is Tier.FREE
        assert tenant.is_active
        assert tenant.created_at.tzinfo is UTC

    @pytest.mark.parametrize("email", ["", "not-an-email", "a@", "@b.example"])
    def test_refuses_bad_email(self, email: str) -> None:
        with pytest.raises(ValidationError):
            Tenant(name="Acme", email=email)

    def test_refuses_bad_uuid_and_blank_name(self) -> None:
        with pytest.raises(ValidationError):
            Tenant(tenant_id="not-a-uuid", name="Acme", email="a@acme.example")  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            Tenant(name="   ", email="a@acme.example")

    def test_refuses_naive_timestamps_and_unknown_fields(self) -> None:
        with pytest.raises(ValidationError):
            Tenant(name="A", email="a@acme.example", created_at=datetime(2026, 1, 1))
        with pytest.raises(ValidationError):
            Tenant.model_validate({"name": "A", "email": "a@acme.example", "extra": 1})

    def test_timestamps_normalise_to_utc_fixed_width(self) -> None:
        plus_two = timezone(timedelta(hours=2))
        tenant = Tenant(
            name="A", email="a@acme.example", created_at=datetime(2026, 1, 1, 14, tzinfo=plus_two)
        )
        assert tenant.model_dump(mode="json")["created_at"] == "2026-01-01T12:00:00.000000Z"

    def test_stripe_customer_id_format(self) -> None:
        Tenant(name="A", email="a@acme.example", stripe_customer_id="cus_Abc123")
        with pytest.raises(ValidationError):
            Tenant(name="A", email="a@acme.example", stripe_customer_id="sub_123")


class TestApiKey:
    def test_issue_returns_plaintext_once_and_stores_hash_only(self) -> None:
        record, plaintext = ApiKey.issue(tenant_id=TENANT, name="ci", environment=Environment.TEST)
        assert parse_environment(plaintext) is Environment.TEST
        assert record.key_hash == hash_api_key(plaintext)
        assert plaintext not in record.model_dump_json()
        assert record.prefix == plaintext[:14] == display_prefix(plaintext)
        assert Scope.ADMIN not in record.scopes
        assert not record.revoked

    def test_keys_are_random(self) -> None:
        assert len({generate_api_key(Environment.LIVE) for _ in range(100)}) == 100

    @pytest.mark.parametrize(
        "candidate",
        [
            "",
            "op_live_",
            "op_prod_" + "a" * 32,
            "op_live_" + "A" * 32,  # upper case
            "op_live_" + "a" * 31,
            "op_live_" + "a" * 33,
            "op_live_" + "g" * 32,
            "sk_live_" + "a" * 32,
            " op_live_" + "a" * 32,
            "op_live_" + "a" * 32 + "\n",
        ],
    )
    def test_format_is_checked_before_any_lookup(self, candidate: str) -> None:
        with pytest.raises(InvalidApiKeyFormat):
            parse_environment(candidate)

    def test_model_refuses_malformed_hash_and_prefix(self) -> None:
        with pytest.raises(ValidationError):
            ApiKey(
                key_hash="abc",
                tenant_id=TENANT,
                name="x",
                prefix="op_live_abcdef",
                environment=Environment.LIVE,
            )
        with pytest.raises(ValidationError):
            ApiKey(
                key_hash="a" * 64,
                tenant_id=TENANT,
                name="x",
                prefix="op_live_" + "a" * 32,
                environment=Environment.LIVE,
            )


class TestTask:
    @pytest.mark.parametrize(
        "repo",
        ["octocat/Hello-World", "a/b", "my-org/repo.name_1", "x" * 39 + "/" + "y" * 100],
    )
    def test_accepts_github_names(self, repo: str) -> None:
        assert a_task(repo=repo).repo == repo

    @pytest.mark.parametrize(
        "repo",
        [
            "",
            "no-slash",
            "/repo",
            "owner/",
            "-owner/repo",
            "owner-/repo",
            "own--er/repo",
            "x" * 40 + "/repo",
            "owner/" + "y" * 101,
            "owner/..",
            "owner/repo.git",
            "owner/re po",
            "owner/repo/extra",
            "owner/repo;rm -rf",
            "https://github.com/o/r",
        ],
    )
    def test_refuses_invalid_repo(self, repo: str) -> None:
        with pytest.raises(ValidationError):
            a_task(repo=repo)

    @pytest.mark.parametrize("ref", ["main", "feature/x-1", "v1.2.3", "a" * 40])
    def test_accepts_refs(self, ref: str) -> None:
        assert a_task(ref=ref).ref == ref

    @pytest.mark.parametrize(
        "ref",
        [
            "",
            "-b",
            "--upload-pack=x",
            "a..b",
            "a b",
            "a~1",
            "x^",
            "a:b",
            "ends/",
            "x.lock",
            ".hidden",
            "a/.b",
            "@",
            "a@{1}",
            "a//b",
            "tab\there",
        ],
    )
    def test_refuses_refs_git_would_refuse_or_read_as_options(self, ref: str) -> None:
        with pytest.raises(ValidationError):
            a_task(ref=ref)

    @pytest.mark.parametrize("text", ["", "   \n\t", "x" * (TASK_TEXT_MAX_CHARS + 1)])
    def test_refuses_empty_blank_or_oversized_text(self, text: str) -> None:
        with pytest.raises(ValidationError):
            a_task(task=text)

    def test_accepts_text_at_the_bound(self) -> None:
        assert len(a_task(task="x" * TASK_TEXT_MAX_CHARS).task) == TASK_TEXT_MAX_CHARS

    def test_unknown_executor_or_context_refused(self) -> None:
        with pytest.raises(ValidationError):
            Task.model_validate(
                {
                    "tenant_id": str(TENANT),
                    "environment": "live",
                    "repo": "a/b",
                    "task": "t",
                    "executor": "copilot",
                }
            )
        with pytest.raises(ValidationError):
            Task.model_validate(
                {
                    "tenant_id": str(TENANT),
                    "environment": "live",
                    "repo": "a/b",
                    "task": "t",
                    "executor": "claude",
                    "context": "everything",
                }
            )

    def test_single_executor_has_one_run_of_that_agent(self) -> None:
        task = a_task(executor=Executor.GEMINI)
        assert [run.executor for run in task.runs] == [Agent.GEMINI]
        assert task.runs[0].task_id == task.task_id
        assert task.task_id.startswith("tsk_")
        assert task.runs[0].run_id.startswith("run_")

    def test_all_fans_out_to_what_the_tier_allows(self) -> None:
        assert [r.executor for r in a_task(executor=Executor.ALL).runs] == list(Agent)
        free = a_task(executor=Executor.ALL, limits=TIERS[Tier.FREE])
        assert [r.executor for r in free.runs] == [Agent.CLAUDE]

    def test_runs_must_match_executor(self) -> None:
        task = a_task(executor=Executor.CLAUDE)
        other = Run(task_id=task.task_id, tenant_id=TENANT, executor=Agent.CODEX)
        with pytest.raises(ValidationError):
            Task.model_validate(task.model_dump() | {"runs": [other.model_dump()]})
        foreign = Run(task_id=task.task_id, tenant_id=uuid4(), executor=Agent.CLAUDE)
        with pytest.raises(ValidationError):
            Task.model_validate(task.model_dump() | {"runs": [foreign.model_dump()]})

    def test_artifact_prefix_is_under_the_tenant(self) -> None:
        run = a_task().runs[0]
        assert run.artifact_prefix == f"runs/{TENANT}/{run.run_id}/"


Q, P, C, F, X = (
    TaskStatus.QUEUED,
    TaskStatus.PROCESSING,
    TaskStatus.COMPLETED,
    TaskStatus.FAILED,
    TaskStatus.CANCELLED,
)


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ([Q], Q),
        ([Q, Q], Q),
        ([P], P),
        ([C, Q], P),
        ([C, P], P),
        ([C, C], C),
        ([C, F], F),
        ([X, X], X),
        ([C, X], C),
        ([F, X], F),
    ],
)
def test_task_status_aggregates_its_runs(runs: list[TaskStatus], expected: TaskStatus) -> None:
    assert aggregate_status(runs) is expected


def test_audit_entry_keeps_request_metadata() -> None:
    entry = AuditEntry.model_validate(
        {
            "tenant_id": str(TENANT),
            "action": "task_submitted",
            "resource": "tsk_x",
            "request_id": "req-1",
            "metadata": {
                "source_ip": "203.0.113.9",
                "user_agent": "curl/8",
                "key_prefix": "op_live_abcdef",
            },
        }
    )
    assert str(entry.metadata.source_ip) == "203.0.113.9"
    with pytest.raises(ValidationError):
        AuditEntry.model_validate(entry.model_dump() | {"action": "Bad Action!"})
    with pytest.raises(ValidationError):
        AuditEntry.model_validate(entry.model_dump() | {"metadata": {"source_ip": "nope"}})


def test_usage_record_period_is_its_utc_month() -> None:
    record = UsageRecord(
        tenant_id=TENANT,
        environment=Environment.LIVE,
        kind=UsageKind.SUBMISSION,
        task_id=a_task().task_id,
        occurred_at=datetime(2026, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2))),
    )
    assert record.period == "2026-02"
    assert format_timestamp(record.occurred_at) == "2026-02-01T01:30:00.000000Z"
