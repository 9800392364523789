"""The real networks load from the shipped config: chain ids, RPC variables, finality, getLogs
limits, contracts with their first blocks, the native option; a bad native option is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines import config
from pipelines.config import ConfigError

REPO_SCHEMAS = Path(__file__).resolve().parent.parent.parent / "schemas"


def test_real_networks_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLW_CONTRACTS_DIR", raising=False)
    monkeypatch.delenv("OLW_SCHEMAS_DIR", raising=False)
    nets = config.load_networks()
    want = {
        "ethereum-mainnet": (1, "OLW_RPC_ETHEREUM_MAINNET", False),
        "bsc-mainnet": (56, "OLW_RPC_BSC_MAINNET", False),
        "openledger-mainnet": (1612, "OLW_RPC_OPENLEDGER_MAINNET", True),
        "openledger-testnet": (161201, "OLW_RPC_OPENLEDGER_TESTNET", True),
    }
    for name, (cid, env, native) in want.items():
        n = nets[name]
        assert (n.chain_id, n.rpc_url_env, n.native.transactions) == (cid, env, native)
        assert n.finality.mode == "tag" and n.finality.tag == "finalized"
        assert n.max_blocks >= 1 and n.default_rpc_url is None and not n.is_devnet
    eth = {c.name: (c.address, c.first_block) for c in nets["ethereum-mainnet"].contracts}
    assert eth == {
        "Open": ("0xa227cc36938f0c9e09ce0e64dfab226cad739447", 22_846_566),
        "OPENOFTAdapter": ("0xb548a9d3e8a3fbd821bd52fb915d752bdc8cf679", 23_225_806),
    }
    bsc = {c.name: (c.address, c.first_block) for c in nets["bsc-mainnet"].contracts}
    assert bsc == {"OmnichainOpen": ("0xa227cc36938f0c9e09ce0e64dfab226cad739447", 58_959_063)}
    l2 = {c.name: c.address for c in nets["openledger-mainnet"].contracts}
    assert l2["L2ToL1MessagePasser"] == "0x4200000000000000000000000000000000000016"
    assert l2["WOPEN"] == "0x4200000000000000000000000000000000000006"
    assert {
        l2[v] for v in ("BaseFeeVault", "SequencerFeeVault", "L1FeeVault", "OperatorFeeVault")
    } == {
        "0x4200000000000000000000000000000000000019",
        "0x4200000000000000000000000000000000000011",
        "0x420000000000000000000000000000000000001a",
        "0x420000000000000000000000000000000000001b",
    }
    assert nets["devnet-mainnet"].native == config.NativeConfig()  # devnets unchanged


@pytest.mark.parametrize(
    ("native", "message"),
    [
        ("    native: yes\n", "expected a mapping"),
        ("    native:\n      transactions: 1\n", "true or false"),
        ("    native:\n      transactions: true\n      traces: parity\n", "traces must be one of"),
        ("    native:\n      traces: debug\n", "traces need transactions"),
    ],
)
def test_bad_native_option_is_refused(
    native: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "schemas"
    shutil.copytree(REPO_SCHEMAS / "abis", target / "abis")
    (target / "contracts").mkdir()
    text = (REPO_SCHEMAS / "networks.yaml").read_text()
    text = text.replace(
        "    get_logs:\n      max_blocks: 2000\n",
        native + "    get_logs:\n      max_blocks: 2000\n",
        1,
    )
    (target / "networks.yaml").write_text(text)
    monkeypatch.setenv("OLW_SCHEMAS_DIR", str(target))
    monkeypatch.delenv("OLW_CONTRACTS_DIR", raising=False)
    with pytest.raises(ConfigError, match=message) as err:
        config.load_networks()
    assert "networks.yaml" in str(err.value) and ".native" in str(err.value)
