# ruff: noqa: E501  (the table of topic0 hashes)
"""Every event of the real OpenLedger contracts (../shared/REAL_CHAIN.md, schemas/abis/) decodes
to the values its stand-in emitted on a real anvil, through the real ingest and decoder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipelines.config import ContractConfig, get_network
from pipelines.decode.abi import EventSpec, load_abi_events
from pipelines.devnet.realchain import STANDS_FOR
from pipelines.ingest import ingest_range
from pipelines.store import connect
from tests.real.conftest import DEAD, RealChain

ABIS = sorted(set(STANDS_FOR.values()))
# topic0 of every signature as REAL_CHAIN.md gives it (full or abbreviated), checked here
# against keccak of the ABI files' signatures
REAL_CHAIN_TOPICS = {
    "Transfer(address,address,uint256)": "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
    "Approval(address,address,uint256)": "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925",
    "OFTSent(bytes32,uint32,address,uint256,uint256)": "0x85496b760a4b7f8d66384b9df21b381f5d1b1e79f229a47aaf4c232edc2fe59a",
    "OFTReceived(bytes32,uint32,address,uint256)": "0xefed6d3500546b29533b128a29e3a94d70788727f0507505ac12eaf2e578fd9c",
    "PeerSet(uint32,bytes32)": "0x238399d427b947898edb290f5ff0f9109849b1c3ba196a42e35f00c50a54b98b",
    "EnforcedOptionSet((uint32,uint16,bytes)[])": "0xbe4864a8e820971c0247f5992e2da559595f7bf076a21cb5928d443d2a13b674",
    "MsgInspectorSet(address)": "0xf0be4f1e87349231d80c36b33f9e8639658eeaf474014dee15a3e6a4d4414197",
    "PreCrimeSet(address)": "0xd48d879cef83a1c0bdda516f27b13ddb1b3f8bbac1c9e1511bb2a659c2427760",
    "OwnershipTransferred(address,address)": "0x8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0",
    "Deposit(address,uint256)": "0xe1fffcc4923d04b559f4d29a8bfc6cda04eb5b0d3c460751c2402c5c5cc9109c",
    "Withdrawal(address,uint256)": "0x7fcf532c15f0a6db0bd6d0e038bea71d30d808c7d98cb3bf7268a95bf5081b65",
    "DelegateChanged(address,address,address)": "0x3134e8a2e6d97e929a7e54011ea5485d7d196dd5f0ba4d4ef95803e8e3fc257f",
    "DelegateVotesChanged(address,uint256,uint256)": "0xdec2bacdd2f05b59de34da9b523dff8be42e5e38e818c82fdb0bae774387a724",
    "EIP712DomainChanged()": "0x0a6387c9ea3628b88a633bb4f3b151770f70085117a15f9bf3787cda53f13d31",
    "ProposalCreated(uint256,address,address[],uint256[],string[],bytes[],uint256,uint256,string)": "0x7d84a626…d5e0",
    "VoteCast(address,uint256,uint8,uint256,string)": "0xb8e13888…dda4",
    "VoteCastWithParams(address,uint256,uint8,uint256,string,bytes)": "0xe2babfba…8712",
    "ProposalQueued(uint256,uint256)": "0x9a2e42fd…2892",
    "ProposalExecuted(uint256)": "0x712ae138…291f",
    "ProposalCanceled(uint256)": "0x789cf55b…b30c",
    "Staked(uint256,address,uint256)": "0x18dcd430020e4d4899772fd94a8b40451dc5044dfb70bc46b532eeae431c864f",
    "ToppedUp(uint256,address,uint256)": "0xf19b343790b563def8e3295fefceb8287c0389331561e09afd814bca77f1850a",
    "RequestUnstake(uint256,address)": "0x31159605084327548f769cbdbd72e8abca5a043cd0a976d4fa97cfd932efd8ec",
    "Unstaked(uint256,address)": "0x81b0ac4b13aab1ab3b86d524dd62924e99a9d694e94e235f627bb41589717ff7",
    "CommitStake(uint256,bytes)": "0x620370f45870d6716490cfd0daae2e9d26c79f2e6d4022f899f5fafc08116cb1",
    "ConfigSet(uint256)": "0x9c933b25…15e8",
    "ConfigCreated(uint256)": "0x39ad3953…e596",
    "AirdropClaimed(bytes32,address,uint256)": "0xfc17c9eeb95f1fc3b7ab9c994f98087e328edfe1cf7f11bb36f658b85e000f14",
    "AirdropClaimed(address,bytes32,uint256)": "0x286b28c8571c73086fa8d8852b677537690a70b51e1a76820fe50db64e127779",
    "VaultSet(address)": "0xe7ae49f8…e615",
    "TokenSet(address)": "0xa07c91c1…efb7",
    "BatchEnabled(bytes32,bool)": "0x95c91c24…b65d",
    "BatchFeeSet(bytes32,uint256)": "0x2f31b25f…2269",
    "MessagePassed(uint256,address,address,uint256,uint256,bytes,bytes32)": "0x02a52367…5054",
    "TransactionDeposited(address,address,uint256,bytes)": "0xb3813568…7c32",
    "WithdrawalProven(bytes32,address,address)": "0x67a6208c…3f62",
    "WithdrawalFinalized(bytes32,bool)": "0xdb5c7652…df1b",
    "AssetsMinted(address,address,uint256)": "0xd361b0ed…5aaf",
    "AssetsBurned(address,uint256)": "0xd11fe87a…6da5",
    "DelegateSet(address,address)": "0x6ee10e9e…3981",
    # not in REAL_CHAIN.md with a topic: computed here (OP Stack FeeVault, CGT v2 predeploys)
    "Withdrawal(uint256,address,address)": "0xc8a211cc64b6ed1b50595a9fcb1932b6d1e5a6e8ef15b60e5b1f988ea9086bba",
    "LiquidityDeposited(address,uint256)": "0x7ff07ce9a287649537e4b012e45cf012d90228b12e2b56bb03515a6b5436fcdf",
    "LiquidityWithdrawn(address,uint256)": "0xb1cce8684b4ffa8667b4577654e61ee3480d661ee9c27522ac80e211f6bd4d25",
    "LiquidityFunded(address,uint256)": "0xbb9e497a5b82d1a37f9496dd70c6efb97ba0d98c66c3422d05010105d0633598",
    "MinterAuthorized(address,address)": "0xe09db6fd624016ee773da750450fc8de01bacfd81f6dd729b906c37f0b19123e",
}  # fmt: skip


def _events() -> list[tuple[str, EventSpec]]:
    return [(abi, ev) for abi in ABIS for ev in load_abi_events(f"abis/{abi}.json")]


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        return v.lower()
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, list | tuple):
        return [_norm(x) for x in v]
    if isinstance(v, dict):  # a tuple component, by name
        return [_norm(x) for x in v.values()]
    return v


@pytest.fixture(scope="session")
def events_warehouse(
    real_chain: RealChain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    wh = tmp_path_factory.mktemp("real-events") / "w.duckdb"
    net = replace(
        get_network("ethereum-mainnet"),
        name="realchain-standins",
        contracts=tuple(
            ContractConfig(abi, addr, f"abis/{abi}.json", 0)
            for abi, addr in sorted(real_chain.addresses.items())
        ),
    )
    s = ingest_range(net, 0, real_chain.head, wh, rpc_url=real_chain.url)
    if s.dead_letters:
        con = connect(wh, read_only=True)
        print(
            con.execute(
                "select contract_address, topic0, reason, detail from raw.dead_letters"
            ).fetchall()
        )
        con.close()
    assert s.dead_letters == 0 and s.cursor == real_chain.head
    yield wh


@pytest.mark.parametrize(("abi", "ev"), _events(), ids=[f"{a}.{e.signature}" for a, e in _events()])
def test_real_event_decodes(
    abi: str, ev: EventSpec, real_chain: RealChain, events_warehouse: Path
) -> None:
    want_topic = REAL_CHAIN_TOPICS[ev.signature]
    assert ev.topic0.startswith(want_topic.split("…")[0])
    assert ev.topic0.endswith(want_topic.split("…")[-1])
    want = real_chain.expected.get((abi, ev.name))
    assert want, f"the stand-in traffic emits no {abi}.{ev.name}"
    con = connect(events_warehouse, read_only=True)
    try:
        cols = [p.column for p in ev.params]
        sel = ", ".join(f'"{c}"' for c in cols) or "1"
        rows = con.execute(
            f"select {sel} from decoded.{ev.table} where contract_address = ? "
            "order by block_number, log_index",
            [real_chain.addresses[abi]],
        ).fetchall()
    finally:
        con.close()
    names = [p.name for p in ev.params]
    got = [dict(zip(names, map(_norm, r[: len(names)]), strict=True)) for r in rows]
    for g in got:  # a tuple is stored as JSON text of its components, uints as strings
        for p in ev.params:
            if p.abi_type.startswith("("):
                g[p.name] = [
                    [int(x) if x.isdigit() else x for x in json.loads(e)] for e in g[p.name]
                ]
    assert got == [{k: _norm(v) for k, v in w.items()} for w in want]


def test_staked_amount_is_topic3_and_unstaked_has_none(
    real_chain: RealChain, events_warehouse: Path
) -> None:
    con = connect(events_warehouse, read_only=True)
    try:
        (t3, data) = con.execute(
            "select topic3, data from raw.logs where topic0 = ?",
            [REAL_CHAIN_TOPICS["Staked(uint256,address,uint256)"]],
        ).fetchall()[0]
        unstaked = con.execute(
            "select topic_count, data, tx_hash from raw.logs where topic0 = ?",
            [REAL_CHAIN_TOPICS["Unstaked(uint256,address)"]],
        ).fetchall()
        paid = con.execute(
            "select value from decoded.open__transfer where tx_hash = ?",
            [unstaked[0][2]],
        ).fetchall()
    finally:
        con.close()
    assert int(t3, 16) == real_chain.facts["staked"] and data == "0x"
    assert unstaked[0][:2] == (3, "0x")  # the amount is only in the token transfer
    assert [int(v) for (v,) in paid] == [real_chain.facts["unstake_paid"]]


def test_oft_dust_and_dead_redirect(real_chain: RealChain, events_warehouse: Path) -> None:
    con = connect(events_warehouse, read_only=True)
    try:
        sent = con.execute(
            "select amount_sent_ld, amount_received_ld from decoded.openoft_adapter__oft_sent"
        ).fetchall()
        minted_to = con.execute(
            "select to_address from decoded.omnichain_open__transfer "
            "where from_address = '0x0000000000000000000000000000000000000000'"
        ).fetchall()
    finally:
        con.close()
    raw = real_chain.facts["oft_sent_raw"]
    assert raw % 10**12 != 0
    assert sent == [(raw - raw % 10**12, raw - raw % 10**12)]
    assert (DEAD,) in minted_to


def test_readme_real_chain_query(real_chain: RealChain, events_warehouse: Path) -> None:
    """The supply query of README "Indexing the real chains" runs and gives the stand-ins' values."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Indexing the real chains") :]
    fence = "```sql real-chains\n"
    start = section.index(fence) + len(fence)
    sql = section[start : section.index("```", start)]
    con = connect(events_warehouse, read_only=True)
    try:
        (minted, burned, lock) = con.execute(sql).fetchall()[0]
    finally:
        con.close()
    assert (minted, burned) == (10**9, 777)
    assert lock == (real_chain.facts["oft_sent"] - 5 * 10**18) / 10**18
