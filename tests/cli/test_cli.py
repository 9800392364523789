"""CLI conventions: --version, help for every option, the top level importing nothing heavy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import COMMANDS, load_command

OLW = Path(sys.executable).parent / "olw"
HEAVY = (
    "duckdb",
    "pyarrow",
    "numpy",
    "polars",
    "dagster",
    "web3",
    "eth_utils",
    "pydantic",
    "plotly",
    "rich",
    "httpx",
    "yaml",
)


def test_version_and_top_level_help():
    out = subprocess.run([str(OLW), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("olw ") and out.stdout.split()[1][0].isdigit()
    helptext = subprocess.run([str(OLW), "--help"], capture_output=True, text=True, check=True)
    for name, (_, summary) in COMMANDS.items():
        assert f"{name}" in helptext.stdout and summary in helptext.stdout, name
    assert "--version" in helptext.stdout


def test_help_imports_nothing_heavy():
    code = (
        "import sys\n"
        "sys.argv = ['olw', '--help']\n"
        "import pipelines.cli as c\n"
        "try:\n    c.main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-500:]


def _walk(cmd, path):
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from _walk(sub, f"{path} {name}")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_has_help(name):
    for path, cmd in _walk(load_command(name), f"olw {name}"):
        text = (cmd.help or "").strip()
        assert text, f"{path} has no help text"
        first = text.split("\n\n")[0].strip()
        assert first.endswith((".", ")", ":")), f"{path}: help cut mid-sentence: {first!r}"
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "option" and not p.hidden:
                assert (p.help or "").strip(), f"{path} {p.opts[0]} has no help text"


def test_the_lazy_table_lists_every_registered_command():
    import typer

    from pipelines.cli import _register, app

    _register()
    group = typer.main.get_command(app)
    names = {n for n in group.commands}
    assert names == set(COMMANDS), names ^ set(COMMANDS)


def test_automation_is_off_unless_asked(monkeypatch):
    from pipelines.config import load_networks
    from pipelines.defs.lib import automation_on

    nets = load_networks()
    devnet, real = nets["devnet-mainnet"], nets["openledger-mainnet"]
    monkeypatch.delenv("OLW_AUTOMATION", raising=False)
    assert not automation_on(devnet) and not automation_on(real) and not automation_on()
    monkeypatch.setenv("OLW_AUTOMATION", "on")
    assert automation_on(devnet) and automation_on() and not automation_on(real)
    monkeypatch.setenv("OLW_AUTOMATION", "all")
    assert automation_on(real)
    monkeypatch.setenv("OLW_AUTOMATION", "off")
    assert not automation_on(devnet)


def test_one_dagster_home_rule(monkeypatch, tmp_path):
    from pipelines.config import REPO_ROOT
    from pipelines.query_cli import dagster_env

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert dagster_env()["DAGSTER_HOME"] == str((REPO_ROOT / "dagster_home").resolve())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "env"))
    assert dagster_env()["DAGSTER_HOME"] == str(tmp_path / "env")
    assert dagster_env(tmp_path / "flag")["DAGSTER_HOME"] == str(tmp_path / "flag")
