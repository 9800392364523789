"""The config loader refuses malformed network and contract files with a message naming them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines import config
from pipelines.config import ConfigError

REPO_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


@pytest.fixture
def schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(REPO_SCHEMAS / "abis", target / "abis")
    shutil.copy(REPO_SCHEMAS / "networks.yaml", target / "networks.yaml")
    (target / "contracts").mkdir()
    monkeypatch.setenv("OLW_SCHEMAS_DIR", str(target))
    monkeypatch.delenv("OLW_CONTRACTS_DIR", raising=False)
    return target


def test_repo_networks_load() -> None:
    networks = config.load_networks()
    assert networks["devnet-mainnet"].chain_id == 1612
    assert networks["devnet-testnet"].chain_id == 161201
    assert networks["openledger-mainnet"].max_blocks == 1000
    assert networks["openledger-mainnet"].finality.mode == "tag"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("chain_id: 1612\n", "chain_id: '1612'\n", 1), "chain_id"),
        (lambda s: s.replace("mode: depth", "mode: sometimes", 1), "mode must be"),
        (lambda s: s.replace("max_blocks: 2000", "max_blocks: 0", 1), "limits must be positive"),
        (lambda s: s.replace("tag: finalized", "tag: latest", 1), "tag must be"),
        (lambda s: s + "\n  broken: [", "not valid YAML"),
        (lambda s: "networks: 3\n", "top-level 'networks' mapping"),
    ],
)
def test_malformed_network_config_is_refused(schemas: Path, edit, message: str) -> None:
    path = schemas / "networks.yaml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError, match=message) as err:
        config.load_networks()
    assert "networks.yaml" in str(err.value)


def _contracts(schemas: Path, spec: object) -> None:
    (schemas / "contracts" / "devnet-mainnet.json").write_text(json.dumps(spec))


GOOD = {"address": "0x" + "ab" * 20, "abi": "abis/OpenToken.json", "first_block": 1}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"contracts": {"OpenToken": {**GOOD, "address": "0x12"}}}, "20-byte"),
        ({"contracts": {"OpenToken": {**GOOD, "address": "0x" + "zz" * 20}}}, "not hex"),
        ({"contracts": {"OpenToken": {**GOOD, "abi": "abis/Nope.json"}}}, "does not exist"),
        ({"contracts": {"OpenToken": {**GOOD, "first_block": -1}}}, "first_block"),
        ({"contracts": {"OpenToken": {"address": GOOD["address"]}}}, "missing field 'abi'"),
        ({"nope": 1}, "missing field 'contracts'"),
    ],
)
def test_malformed_contracts_are_refused(schemas: Path, spec: object, message: str) -> None:
    _contracts(schemas, spec)
    with pytest.raises(ConfigError, match=message) as err:
        config.load_networks()
    assert "devnet-mainnet.json" in str(err.value)


def test_contracts_load_lowercased(schemas: Path) -> None:
    _contracts(schemas, {"contracts": {"OpenToken": {**GOOD, "address": "0x" + "AB" * 20}}})
    token = config.get_network("devnet-mainnet").contract("OpenToken")
    assert token.address == "0x" + "ab" * 20
    assert token.first_block == 1


def test_unknown_network_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known networks: .*devnet-mainnet"):
        config.get_network("nope")


def test_real_network_without_rpc_env_says_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLW_RPC_OPENLEDGER_MAINNET", raising=False)
    with pytest.raises(ConfigError, match="OLW_RPC_OPENLEDGER_MAINNET"):
        config.get_network("openledger-mainnet").rpc_url()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://rpc.example.org/v1/SECRETKEY", "https://rpc.example.org/…"),
        ("https://rpc.example.org/?apikey=SECRET", "https://rpc.example.org/…"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("https://user:pw@host.example:8443/x", "https://host.example:8443/…"),
    ],
)
def test_redact_url_hides_keys(url: str, shown: str) -> None:
    assert config.redact_url(url) == shown
    assert "SECRET" not in config.redact_url(url)
