"""Labels users can extend: `olw labels add` writes the network's overlay, label readers merge
it over the shipped labels (the overlay wins), and the devnet deployer never rewrites it."""

from __future__ import annotations

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from pipelines.devnet.harness import DevnetHandle

MAINNET = "devnet-mainnet"


def _olw(*args: str) -> tuple[int, str]:
    from pipelines.cli import _register, app

    _register()
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.output


def test_overlay_wins_and_survives_the_deployer(
    devnet_nodes: DevnetHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.devnet.deploy import load_deployment, write_files
    from pipelines.labels import overlay_path
    from pipelines.metrics.common import load_labels

    devnet_nodes.apply(monkeypatch)
    shipped = yaml.safe_load((devnet_nodes.labels_dir / f"{MAINNET}.yaml").read_text())["labels"]
    relabel, old = next((a, s) for a, s in shipped.items() if s["kind"] != "exchange")
    new = "0x" + "ab" * 20
    code, out = _olw("labels", "add", relabel, "exchange", "my.exchange", "--network", MAINNET)
    assert code == 0, out
    code, out = _olw(
        "labels", "add", new.upper().replace("0X", "0x"), "treasury", "t", "-n", MAINNET
    )
    assert code == 0, out
    path = overlay_path(MAINNET)
    assert path.parent == devnet_nodes.labels_dir and path.name == f"{MAINNET}.local.yaml"
    before = path.read_text()

    dep = load_deployment(MAINNET)
    assert dep is not None
    write_files(dep)  # what `olw devnet up` does after a deploy
    assert path.read_text() == before

    con = duckdb.connect()
    load_labels([MAINNET]).register(con)
    got = dict(
        (a, (k, n)) for a, k, n in con.execute(
            "select address, kind, name from address_labels where chain_id = 1612"
        ).fetchall()
    )  # fmt: skip
    assert got[relabel] == ("exchange", "my.exchange") != (old["kind"], old["name"])
    assert got[new] == ("treasury", "t")
    assert set(shipped) | {new} <= set(got)  # the shipped labels are all still there


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("0x123", "treasury", "x"), "not an address"),
        (("0x" + "zz" * 20, "treasury", "x"), "non-hex"),
        (("0xAbCdEf" + "ab" * 17, "treasury", "x"), "EIP-55"),
        (("0x" + "ab" * 20, "whale", "x"), "unknown label kind"),
        (("0x" + "ab" * 20, "treasury", " "), "non-empty NAME"),
    ],
)
def test_bad_labels_are_refused_clearly(
    args: tuple[str, ...], message: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLW_LABELS_DIR", str(tmp_path))
    code, out = _olw("labels", "add", *args, "--network", "openledger-mainnet")
    assert code == 2 and message in out and "Traceback" not in out
    assert not list(tmp_path.iterdir())
    code, out = _olw("labels", "add", "0x" + "ab" * 20, "treasury", "x", "--network", "nowhere")
    assert code == 2 and "unknown network" in out
