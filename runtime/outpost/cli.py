"""The ``outpost`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from outpost.commands import register

app = typer.Typer(help="Outpost: run AI coding agents on your repositories.", no_args_is_help=True)


@app.callback()
def main(
    ctx: typer.Context,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="OUTPOST_API_KEY", show_envvar=True, show_default=False, help="Your API key."
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(envvar="OUTPOST_API_URL", show_envvar=True, help="The API's base URL."),
    ] = None,
) -> None:
    """Outpost's command line."""
    ctx.obj = {"api_key": api_key, "api_url": api_url}


register(app)


@app.command()
def local(
    host: Annotated[str, typer.Option(help="Address to serve the API on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve the API on (0: any free port).")] = 8080,
    admin_key: Annotated[
        str | None,
        typer.Option(
            envvar="OUTPOST_ADMIN_KEY",
            show_envvar=True,
            show_default=False,
            help="The admin key to install (op_live_…); generated when not given.",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=0, help="Worker processes to run tasks (0: accept, never run).")
    ] = 2,
) -> None:
    """Run the whole system on this machine: an in-memory AWS, the API, the workers."""
    from outpost.errors import OutpostError  # noqa: PLC0415 - keep `outpost --help` fast
    from outpost.local.runner import run  # noqa: PLC0415

    try:
        run(host, port, admin_key, workers, echo=typer.echo)
    except OutpostError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2) from None


@app.command("bootstrap-admin")
def bootstrap_admin(
    environment: Annotated[str, typer.Option("--env", help="The deployed environment: dev, …")],
) -> None:
    """Install the first admin key of a deployed environment and print it, once.

    Uses your AWS credentials (the usual AWS_PROFILE / AWS_REGION). Running it again makes
    another admin key; revoke the old one with the API.
    """
    import boto3  # noqa: PLC0415

    from outpost.data.api_keys import ApiKeyRepository  # noqa: PLC0415
    from outpost.data.tables import API_KEYS, TENANTS  # noqa: PLC0415
    from outpost.data.tenants import TenantRepository  # noqa: PLC0415
    from outpost.services.bootstrap import ensure_admin_key  # noqa: PLC0415

    dynamodb = boto3.client("dynamodb")
    admin = ensure_admin_key(
        TenantRepository(dynamodb, TENANTS.table_name(environment)),
        ApiKeyRepository(dynamodb, API_KEYS.table_name(environment)),
    )
    typer.echo(f"admin key for {environment} (shown once, store it now): {admin.plaintext}")


if __name__ == "__main__":
    app()
