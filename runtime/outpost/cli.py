"""The ``outpost`` command."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Outpost: run AI coding agents on your repositories.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Outpost's command line."""


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
) -> None:
    """Run the whole system on this machine: an in-memory AWS, the API, the pollers."""
    from outpost.errors import OutpostError  # noqa: PLC0415 - keep `outpost --help` fast
    from outpost.local.runner import run  # noqa: PLC0415

    try:
        run(host, port, admin_key, echo=typer.echo)
    except OutpostError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2) from None


if __name__ == "__main__":
    app()
