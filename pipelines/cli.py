"""The ``olw`` command line: one entry point for everything a user does with the warehouse."""

from __future__ import annotations

import sys

import typer

from pipelines.config import ConfigError

app = typer.Typer(
    name="olw",
    help=(
        "openledger-warehouse: index OpenLedger (OP Stack L2) attribution, inference and token "
        "logs into a DuckDB event store, and answer: how much inference is real, what each model "
        "earns, and how heavy supply pressure is."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Each room adds its commands here; the import stays local so `olw --help` is fast.
    from pipelines.devnet.cli import app as devnet_app

    app.add_typer(devnet_app, name="devnet")
    __import__("pipelines.ingest_cli").ingest_cli.register(app)
    __import__("pipelines.metrics_cli").metrics_cli.register(app)
    __import__("pipelines.query_cli").query_cli.register(app)
    __import__("pipelines.demo").demo.register(app)
    __import__("pipelines.labels").labels.register(app)


def main() -> None:
    _register()
    try:
        app()
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
