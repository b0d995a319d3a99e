"""The `outpost` commands that talk to the API, through the SDK (outpost.client).

Exit codes: 0 done; 1 the API refused (a 4xx: the message and request id are printed);
2 a usage or configuration error (a bad option, no API key); 3 the API or the network failed
(5xx or no connection, after the SDK's retries); 4 a task waited for with --wait ended failed
or cancelled.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import httpx
import typer
from pydantic import BaseModel
from rich.console import Console

from outpost.api.schemas import TaskView
from outpost.client import ApiError, ConfigurationError, Outpost

EXIT_REFUSED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_TASK_FAILED = 1, 2, 3, 4
SERVER_ERROR = 500

console = Console(stderr=True)
T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]

tasks = typer.Typer(help="Submit, follow and cancel tasks.", no_args_is_help=True)
secrets = typer.Typer(help="Your provider keys (values are never shown).", no_args_is_help=True)
tenants = typer.Typer(help="Tenants (admin keys).", no_args_is_help=True)
keys = typer.Typer(help="API keys of a tenant.", no_args_is_help=True)
billing = typer.Typer(help="Subscriptions, through Stripe.", no_args_is_help=True)


@contextmanager
def _api(ctx: typer.Context) -> Iterator[Outpost]:
    """The SDK client, and the translation of its failures into messages and exit codes."""
    options = ctx.obj or {}
    try:
        with Outpost(options.get("api_key"), options.get("api_url")) as client:
            yield client
    except ConfigurationError as error:
        console.print(f"error: {error}")
        raise typer.Exit(EXIT_USAGE) from None
    except ApiError as error:
        console.print(f"error: {error.type}: {error.message} (request {error.request_id})")
        raise typer.Exit(
            EXIT_UNAVAILABLE if error.status >= SERVER_ERROR else EXIT_REFUSED
        ) from None
    except httpx.TransportError as error:
        console.print(f"error: cannot reach the API: {error}")
        raise typer.Exit(EXIT_UNAVAILABLE) from None


def _show(answer: BaseModel, as_json: bool, human: Callable[[Any], str]) -> None:
    typer.echo(answer.model_dump_json(indent=2) if as_json else human(answer))


def _task_lines(task: TaskView) -> str:
    lines = [f"{task.task_id}  {task.status}  {task.executor}  {task.repo}"]
    for name in ("changes", "branch", "exit_code", "error", "output_url"):
        value = getattr(task, name)
        if value is not None:
            lines.append(f"  {name}: {value}")
    return "\n".join(lines)


@tasks.command("submit")
def submit(
    ctx: typer.Context,
    *,
    repo: Annotated[str, typer.Option(help="owner/name of the GitHub repository.")],
    task: Annotated[str, typer.Option(help="What the agent should do.")],
    executor: Annotated[
        str, typer.Option(help="claude, codex, gemini, aider, grok or all.")
    ] = "claude",
    context: Annotated[str, typer.Option(help="off, minimal, standard or full.")] = "standard",
    ref: Annotated[str | None, typer.Option(help="Branch, tag or commit (default branch).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the task until it ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Submit a task."""
    with _api(ctx) as client:
        submitted = client.submit_task(repo, task, executor=executor, context=context, ref=ref)
        if not wait:
            _show(
                submitted,
                as_json,
                lambda s: f"{s.task_id} {s.status} (estimated wait {s.estimated_wait})",
            )
            return
        done = _follow(client, submitted.task_id)
        _show(done, as_json, _task_lines)
        if done.status != "completed":
            raise typer.Exit(EXIT_TASK_FAILED)


def _follow(client: Outpost, task_id: str) -> TaskView:
    """A live status line (spinner and elapsed time) until the task ends."""
    started = time.monotonic()
    with console.status(f"{task_id} queued") as status:

        def update(task: TaskView) -> None:
            status.update(f"{task_id} {task.status} — {time.monotonic() - started:.0f}s")

        return client.wait(task_id, poll_seconds=1.0, on_update=update)


@tasks.command("get")
def get(ctx: typer.Context, task_id: str, as_json: JsonOption = False) -> None:
    """Show a task and its outcome."""
    with _api(ctx) as client:
        _show(client.get_task(task_id), as_json, _task_lines)


@tasks.command("list")
def list_tasks(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only tasks in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    as_json: JsonOption = False,
) -> None:
    """List your tasks, newest first."""
    with _api(ctx) as client:
        page = client.list_tasks(status=status, limit=limit)
        _show(
            page,
            as_json,
            lambda p: (
                "\n".join(f"{t.task_id}  {t.status:10}  {t.executor:7}  {t.repo}" for t in p.data)
                or "no tasks"
            ),
        )


@tasks.command("cancel")
def cancel(ctx: typer.Context, task_id: str, as_json: JsonOption = False) -> None:
    """Cancel a task: queued runs at once, running ones are stopped."""
    with _api(ctx) as client:
        _show(client.cancel_task(task_id), as_json, _task_lines)


@tasks.command("logs")
def logs(ctx: typer.Context, task_id: str) -> None:
    """Print the agent's output.log."""
    with _api(ctx) as client:
        task = client.get_task(task_id)
        urls = [run.output_url for run in task.runs if run.output_url]
        if not urls:
            console.print(f"no output yet: the task is {task.status}")
            raise typer.Exit(EXIT_REFUSED)
        for url in urls:
            typer.echo(httpx.get(url, timeout=30).raise_for_status().text, nl=False)


def usage(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option(help="A past month, YYYY-MM.")] = None,
    as_json: JsonOption = False,
) -> None:
    """This month's (or a past month's) usage, quota and concurrency."""
    with _api(ctx) as client:
        _show(
            client.usage(period),
            as_json,
            lambda u: (
                f"{u.period}: {u.requests} tasks submitted; tier {u.tier}, "
                f"{u.quota if u.quota is not None else 'unlimited'} a day"
            ),
        )


@secrets.command("set")
def set_secret(ctx: typer.Context, provider: str) -> None:
    """Store a provider key, read from a prompt (or standard input), never from the command line."""
    value = (
        typer.prompt(f"{provider} key", hide_input=True)
        if sys.stdin.isatty()
        else sys.stdin.read().strip()
    )
    with _api(ctx) as client:
        stored = client.set_secret(provider, value)
        typer.echo(f"{stored.provider} stored ({stored.hint})")


@secrets.command("list")
def list_secrets(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The provider keys stored: names, dates and hints."""
    with _api(ctx) as client:
        _show(
            client.list_secrets(),
            as_json,
            lambda s: (
                "\n".join(
                    f"{m.provider:10} {m.hint:8} updated {m.updated_at:%Y-%m-%d %H:%M}"
                    for m in s.data
                )
                or "no keys stored"
            ),
        )


@secrets.command("delete")
def delete_secret(ctx: typer.Context, provider: str) -> None:
    """Remove a provider key."""
    with _api(ctx) as client:
        typer.echo(f"{client.delete_secret(provider).provider} removed")


@tenants.command("create")
def create_tenant(
    ctx: typer.Context,
    name: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    tier: Annotated[str, typer.Option(help="free, pro or enterprise.")] = "free",
    as_json: JsonOption = False,
) -> None:
    """Create a tenant (admin)."""
    with _api(ctx) as client:
        _show(
            client.create_tenant(name, email, tier),
            as_json,
            lambda t: f"{t.tenant_id} {t.name} {t.tier}",
        )


@tenants.command("list")
def list_tenants(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List tenants (admin)."""
    with _api(ctx) as client:
        _show(
            client.list_tenants(limit=limit),
            as_json,
            lambda page: "\n".join(
                f"{t.tenant_id}  {t.tier:10}  {t.status:9}  {t.email}" for t in page.data
            ),
        )


@tenants.command("get")
def get_tenant(ctx: typer.Context, tenant_id: str, as_json: JsonOption = False) -> None:
    """Show a tenant."""
    with _api(ctx) as client:
        _show(
            client.get_tenant(tenant_id),
            as_json,
            lambda t: f"{t.tenant_id} {t.name} {t.tier} {t.status}",
        )


@tenants.command("delete")
def delete_tenant(ctx: typer.Context, tenant_id: str) -> None:
    """Soft-delete a tenant (admin): its keys stop working."""
    with _api(ctx) as client:
        typer.echo(f"{client.delete_tenant(tenant_id).tenant_id} deleted")


@keys.command("create")
def create_key(
    ctx: typer.Context,
    tenant_id: str,
    name: Annotated[str, typer.Option()],
    environment: Annotated[str, typer.Option(help="live or test.")] = "live",
    as_json: JsonOption = False,
) -> None:
    """Create an API key; the full key is printed this once."""
    with _api(ctx) as client:
        _show(client.create_key(tenant_id, name, environment=environment), as_json, lambda k: k.key)


@keys.command("list")
def list_keys(ctx: typer.Context, tenant_id: str, as_json: JsonOption = False) -> None:
    """A tenant's keys (never the keys themselves)."""
    with _api(ctx) as client:
        _show(
            client.list_keys(tenant_id),
            as_json,
            lambda page: "\n".join(
                f"{k.key_id}  {k.prefix}…  {k.name}  {'revoked' if k.revoked_at else 'active'}"
                for k in page.data
            ),
        )


@keys.command("revoke")
def revoke_key(ctx: typer.Context, tenant_id: str, key_id: str) -> None:
    """Revoke an API key, permanently."""
    with _api(ctx) as client:
        typer.echo(f"{client.revoke_key(tenant_id, key_id).key_id} revoked")


def audit(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Admins: whose trail.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The audit trail, newest first."""
    with _api(ctx) as client:
        _show(
            client.audit(tenant_id=tenant, limit=limit),
            as_json,
            lambda page: "\n".join(
                f"{e.timestamp:%Y-%m-%d %H:%M:%S}  {e.action:28} {e.resource}" for e in page.data
            ),
        )


@billing.command("checkout")
def checkout(
    ctx: typer.Context, plan: Annotated[str, typer.Option(help="pro or enterprise.")]
) -> None:
    """A Stripe Checkout link for a plan."""
    with _api(ctx) as client:
        typer.echo(client.checkout(plan).url)


@billing.command("portal")
def portal(ctx: typer.Context) -> None:
    """A link to Stripe's customer portal."""
    with _api(ctx) as client:
        typer.echo(client.portal().url)


def register(app: typer.Typer) -> None:
    app.add_typer(tasks, name="tasks")
    app.add_typer(secrets, name="secrets")
    app.add_typer(tenants, name="tenants")
    app.add_typer(keys, name="keys")
    app.add_typer(billing, name="billing")
    app.command("usage")(usage)
    app.command("audit")(audit)
