"""The ``olw`` command line: one entry point for everything a user does with the warehouse.

``olw --help`` and ``olw --version`` import nothing but typer: every command's module (and with
it DuckDB, pyarrow, web3, Dagster) is imported only when that command runs. The one-line
summaries below are what ``olw --help`` lists; tests/cli checks they stay in step with the
commands' own help.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperGroup

# name -> (module that registers it, one-line summary for `olw --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("pipelines.demo", "Run the main job end to end on the local devnet."),
    "devnet": ("pipelines.devnet.cli", "The embedded devnet: anvil nodes, contracts, traffic."),
    "ingest": ("pipelines.ingest_cli", "Ingest a network's logs into the warehouse."),
    "status": ("pipelines.ingest_cli", "Per network: cursor, head, lag, rows, dead letters."),
    "metrics": ("pipelines.metrics_cli", "Bring the metrics marts (schema metrics) up to date."),
    "export": ("pipelines.metrics_cli", "Write finalized data and the answers as parquet."),
    "report": ("pipelines.metrics_cli", "Write the self-contained HTML report."),
    "query": ("pipelines.query_cli", "Run a read-only SQL query on the warehouse."),
    "verify": ("pipelines.query_cli", "Check the warehouse's integrity without the node."),
    "dev": ("pipelines.query_cli", "Start the Dagster UI and daemon on 127.0.0.1."),
    "backfill": ("pipelines.query_cli", "Ingest the block ranges covering a range of days."),
    "labels": ("pipelines.labels", "Your own address labels, merged over the shipped ones."),
}
ORDER = list(COMMANDS)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("openledger-warehouse")
    except PackageNotFoundError:
        return "unknown"


def load_command(name: str) -> Any:
    """The click command behind ``olw NAME``, importing only its module."""
    module, _ = COMMANDS[name]
    mod = importlib.import_module(module)
    if name == "devnet":
        cmd = typer.main.get_command(mod.app)
        cmd.name = "devnet"
        return cmd
    holder = typer.Typer()
    mod.register(holder)
    group = typer.main.get_command(holder)
    commands = getattr(group, "commands", None)
    return commands[name] if commands is not None else group


class LazyGroup(TyperGroup):
    """A group whose commands are imported on first use; `--help` lists the summaries."""

    def list_commands(self, ctx: Any) -> list[str]:
        eager = [n for n in super().list_commands(ctx) if n not in COMMANDS]
        return ORDER + eager

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None or cmd_name not in COMMANDS:
            return cmd
        return load_command(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(n, COMMANDS[n][1]) for n in ORDER]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"olw {version()}")
        raise typer.Exit()


app = typer.Typer(
    name="olw",
    cls=LazyGroup,
    help=(
        "openledger-warehouse: index OpenLedger (OP Stack L2) attribution, inference and token "
        "logs into a DuckDB event store, and answer: how much inference is real, what each model "
        "earns, and how heavy supply pressure is. Run `olw COMMAND --help` for a command's "
        "options."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: rendering it with rich costs more than the rest
)


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="Print the installed version of openledger-warehouse and exit.",
    ),
) -> None:
    """openledger-warehouse command line."""


def _register() -> None:
    """Register every command eagerly (tests drive `app` with typer's CliRunner)."""
    from pipelines.devnet.cli import app as devnet_app

    app.add_typer(devnet_app, name="devnet")
    for module in dict.fromkeys(m for n, (m, _) in COMMANDS.items() if n != "devnet"):
        importlib.import_module(module).register(app)


def main() -> None:
    try:
        app()
    except Exception as exc:
        from pipelines.config import ConfigError

        if isinstance(exc, ConfigError):
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            sys.exit(2)
        # a full disk, whichever command wrote: say so, never a traceback
        from pipelines.store.db import disk_full

        full = disk_full(exc)
        if full is None:
            raise
        typer.secho(f"error: {full}", fg=typer.colors.RED, err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
