"""One anvil (chain id 1, OP Stack mode so that it takes deposit transactions) with a stand-in
of every public OpenLedger contract, each real event emitted at least once with known values,
plus native-value traffic (plain transfers, a deposit that mints, internal transfers, one that
reverts). Session-scoped and read-only for the tests."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from pipelines.devnet.nodes import anvil_path, free_port
from pipelines.devnet.realchain import artifacts
from tests.ingest.traffic import DEPLOYER, Node, calldata

USER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
OTHER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
BANK = "0x90f79bf6eb2c4f870365e785982e1f101e93b906"
VAULT = "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65"
DEAD = "0x000000000000000000000000000000000000dead"
ZERO = "0x" + "00" * 20
# where the real contracts live (schemas/contracts/ethereum-mainnet.json, the L2 predeploys)
REAL_AT = {
    "Open": "0xa227cc36938f0c9e09ce0e64dfab226cad739447",
    "OPENOFTAdapter": "0xb548a9d3e8a3fbd821bd52fb915d752bdc8cf679",
    "WOPEN": "0x4200000000000000000000000000000000000006",
    "L2ToL1MessagePasser": "0x4200000000000000000000000000000000000016",
    "FeeVault": "0x4200000000000000000000000000000000000019",
}
E18 = 10**18


def b32(i: int) -> bytes:
    return i.to_bytes(32, "big")


@dataclass
class RealChain:
    url: str
    node: Node
    addresses: dict[str, str]  # ABI name -> address
    # (abi, event) -> list of {param name: value} in emission order
    expected: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    head: int = 0

    def expect(self, abi: str, event: str, **values: Any) -> None:
        self.expected.setdefault((abi, event), []).append(values)


def start_anvil(chain_id: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            str(anvil_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--chain-id",
            str(chain_id),
            "--network",
            "optimism",
            "--auto-impersonate",
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    node = Node(url)
    deadline = time.monotonic() + 30
    while True:
        try:
            node.call("eth_chainId")
            return proc, url
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("anvil did not start") from None
            time.sleep(0.1)


def stop_anvil(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def deploy(node: Node, names: list[str]) -> dict[str, str]:
    """Deploy the stand-ins (by ABI name); the ones in REAL_AT move to their real address."""
    from pipelines.devnet.realchain import STANDS_FOR

    arts = artifacts()
    by_abi = {abi: standin for standin, abi in STANDS_FOR.items()}
    out = {}
    for abi in names:
        h = node.call(
            "eth_sendTransaction",
            {"from": DEPLOYER, "data": arts[by_abi[abi]]["bytecode"], "gas": hex(10_000_000)},
        )
        addr = mined(node, h)["contractAddress"].lower()
        if abi in REAL_AT:
            node.call("anvil_setCode", REAL_AT[abi], node.call("eth_getCode", addr, "latest"))
            addr = REAL_AT[abi]
        out[abi] = addr
    return out


def mined(node: Node, h: str) -> dict[str, Any]:
    """The receipt of ``h``, waiting for it: under load anvil can answer eth_sendTransaction
    a moment before the receipt is served."""
    for _ in range(200):
        receipt = node.call("eth_getTransactionReceipt", h)
        if receipt is not None:
            return dict(receipt)
        time.sleep(0.05)
    raise AssertionError(f"transaction {h} was never mined")


def send(node: Node, frm: str, to: str, data: str = "0x", value: int = 0) -> str:
    """Send one transaction (automine: a block of its own) and wait until it is mined."""
    h: str = node.call(
        "eth_sendTransaction",
        {"from": frm, "to": to, "data": data, "value": hex(value), "gas": hex(3_000_000)},
    )
    if node.call("eth_getTransactionByHash", h) is not None and _automine(node):
        mined(node, h)
    return h


def _automine(node: Node) -> bool:
    return bool(node.call("anvil_getAutomine"))


def emit_everything(rc: RealChain) -> None:
    n, a = rc.node, rc.addresses
    for who in (USER, OTHER, BANK, VAULT):
        n.call("anvil_setBalance", who, hex(10_000 * E18))
    ex = rc.expect
    # OPEN on Ethereum: the genesis mint, transfers, approvals, a burn
    send(n, DEPLOYER, a["Open"], calldata("genesis(address)", DEPLOYER))
    ex("Open", "Transfer", **{"from": ZERO, "to": DEPLOYER, "value": 10**27})
    for to, v in ((USER, 5_000_000 * E18), (BANK, 1_000_000 * E18), (VAULT, 2_000_000 * E18)):
        send(n, DEPLOYER, a["Open"], calldata("transfer(address,uint256)", to, v))
        ex("Open", "Transfer", **{"from": DEPLOYER, "to": to, "value": v})
    for owner, spender in (
        (USER, a["OPENOFTAdapter"]),
        (USER, a["Staking"]),
        (BANK, a["Staking"]),
        (VAULT, a["SigDispersal"]),
        (USER, a["OptimismPortal"]),
    ):
        # the widest amount a decoded column holds (2^128 - 1; an infinite approval of
        # 2^256 - 1 is a dead letter, value_out_of_range)
        send(n, owner, a["Open"], calldata("approve(address,uint256)", spender, 2**128 - 1))
        ex("Open", "Approval", owner=owner, spender=spender, value=2**128 - 1)
    send(n, USER, a["Open"], calldata("burn(uint256)", 777 * E18))
    ex("Open", "Transfer", **{"from": USER, "to": ZERO, "value": 777 * E18})
    # OFT adapter (ETH): lock with dust removed, unlock (to 0x0 -> 0xdEaD)
    adapter = a["OPENOFTAdapter"]
    send(n, DEPLOYER, adapter, calldata("setToken(address)", a["Open"]))
    sent = 1234 * E18 + 987_654_321  # the last 12 digits are dust
    rc.facts["oft_sent_raw"], rc.facts["oft_sent"] = sent, 1234 * E18
    send(n, USER, adapter, calldata("send(uint32,bytes32,uint256)", 30102, b32(1), sent))
    ex("Open", "Transfer", **{"from": USER, "to": adapter, "value": 1234 * E18})
    ex(
        "OPENOFTAdapter",
        "OFTSent",
        guid=b32(1),
        dstEid=30102,
        fromAddress=USER,
        amountSentLD=1234 * E18,
        amountReceivedLD=1234 * E18,
    )
    send(
        n,
        DEPLOYER,
        adapter,
        calldata("lzReceiveStandin(bytes32,uint32,address,uint256)", b32(2), 30102, ZERO, 5 * E18),
    )
    ex("Open", "Transfer", **{"from": adapter, "to": DEAD, "value": 5 * E18})
    ex(
        "OPENOFTAdapter",
        "OFTReceived",
        guid=b32(2),
        srcEid=30102,
        toAddress=DEAD,
        amountReceivedLD=5 * E18,
    )
    opts = [
        (30102, 1, bytes.fromhex("00030100110100000000000000000000000000015f90")),
        (30102, 2, b""),
    ]
    for abi in ("OPENOFTAdapter", "OmnichainOpen"):
        c = a[abi]
        send(n, DEPLOYER, c, calldata("transferOwnership(address)", OTHER))
        ex(abi, "OwnershipTransferred", previousOwner=ZERO, newOwner=OTHER)
        send(n, DEPLOYER, c, calldata("setPeer(uint32,bytes32)", 30101, b32(int(c, 16))))
        ex(abi, "PeerSet", eid=30101, peer=b32(int(c, 16)))
        send(
            n,
            DEPLOYER,
            c,
            "0x"
            + (
                keccak(text="setEnforcedOptions((uint32,uint16,bytes)[])")[:4]
                + encode(["(uint32,uint16,bytes)[]"], [opts])
            ).hex(),
        )
        ex(abi, "EnforcedOptionSet", _enforcedOptions=opts)
        send(n, DEPLOYER, c, calldata("setMsgInspector(address)", BANK))
        ex(abi, "MsgInspectorSet", inspector=BANK)
        send(n, DEPLOYER, c, calldata("setPreCrime(address)", VAULT))
        ex(abi, "PreCrimeSet", preCrimeAddress=VAULT)
    # OmnichainOpen (BSC): mint on receive (0x0 -> 0xdEaD), burn on send
    oft = a["OmnichainOpen"]
    for guid, to, v in ((3, USER, 40 * E18), (4, ZERO, 2 * E18)):
        send(
            n,
            DEPLOYER,
            oft,
            calldata("lzReceiveStandin(bytes32,uint32,address,uint256)", b32(guid), 30101, to, v),
        )
        r = DEAD if to == ZERO else to
        ex("OmnichainOpen", "Transfer", **{"from": ZERO, "to": r, "value": v})
        ex(
            "OmnichainOpen",
            "OFTReceived",
            guid=b32(guid),
            srcEid=30101,
            toAddress=r,
            amountReceivedLD=v,
        )
    send(n, USER, oft, calldata("send(uint32,bytes32,uint256)", 30101, b32(5), 3 * E18 + 5))
    ex("OmnichainOpen", "Transfer", **{"from": USER, "to": ZERO, "value": 3 * E18})
    ex(
        "OmnichainOpen",
        "OFTSent",
        guid=b32(5),
        dstEid=30101,
        fromAddress=USER,
        amountSentLD=3 * E18,
        amountReceivedLD=3 * E18,
    )
    send(n, USER, oft, calldata("approve(address,uint256)", OTHER, 9))
    ex("OmnichainOpen", "Approval", owner=USER, spender=OTHER, value=9)
    # WOPEN: native in and out, no mint/burn Transfer
    w = a["WOPEN"]
    send(n, USER, w, calldata("deposit()"), 10 * E18)
    ex("WOPEN", "Deposit", dst=USER, wad=10 * E18)
    send(n, USER, w, calldata("withdraw(uint256)", 4 * E18))
    ex("WOPEN", "Withdrawal", src=USER, wad=4 * E18)
    send(n, USER, w, calldata("transfer(address,uint256)", OTHER, E18))
    ex("WOPEN", "Transfer", src=USER, dst=OTHER, wad=E18)
    send(n, USER, w, calldata("approve(address,uint256)", OTHER, 3))
    ex("WOPEN", "Approval", src=USER, guy=OTHER, wad=3)
    # GOPEN: native in and out with mint/burn Transfers, delegation
    g = a["GOPEN"]
    send(n, USER, g, calldata("deposit()"), 6 * E18)
    ex("GOPEN", "Transfer", **{"from": ZERO, "to": USER, "value": 6 * E18})
    ex("GOPEN", "Deposit", sender=USER, amt=6 * E18)
    send(n, USER, g, calldata("withdraw(uint256)", 2 * E18))
    ex("GOPEN", "Transfer", **{"from": USER, "to": ZERO, "value": 2 * E18})
    ex("GOPEN", "Withdrawal", sender=USER, amt=2 * E18)
    send(n, USER, g, calldata("approve(address,uint256)", OTHER, 11))
    ex("GOPEN", "Approval", owner=USER, spender=OTHER, value=11)
    send(n, USER, g, calldata("delegate(address)", OTHER))
    ex("GOPEN", "DelegateChanged", delegator=USER, fromDelegate=ZERO, toDelegate=OTHER)
    ex("GOPEN", "DelegateVotesChanged", delegate=OTHER, previousVotes=0, newVotes=4 * E18)
    send(n, USER, g, calldata("changeDomain()"))
    ex("GOPEN", "EIP712DomainChanged")
    # Governor
    gov = a["OpenLedgerGovernor"]
    targets, values, datas = [g, w], [0, 5], [b"\x01\x02", b""]
    h = send(
        n,
        USER,
        gov,
        calldata(
            "propose(address[],uint256[],bytes[],string)",
            targets,
            values,
            datas,
            "Fund the ünïcode datanet",
        ),
    )
    ts = int(
        n.call("eth_getBlockByNumber", mined(n, h)["blockNumber"], False)["timestamp"],
        16,
    )
    pid = (
        int.from_bytes(
            keccak(
                encode(
                    ["address[]", "uint256[]", "bytes[]", "bytes32"],
                    [targets, values, datas, keccak(text="Fund the ünïcode datanet")],
                )
            ),
            "big",
        )
        >> 128
    )
    ex(
        "OpenLedgerGovernor",
        "ProposalCreated",
        proposalId=pid,
        proposer=USER,
        targets=targets,
        values=values,
        signatures=["", ""],
        calldatas=["0x0102", "0x"],
        voteStart=ts + 86400,
        voteEnd=ts + 86400 + 14 * 86400,
        description="Fund the ünïcode datanet",
    )
    send(n, USER, gov, calldata("castVote(uint256,uint8,uint256,string)", pid, 1, 4 * E18, "yes"))
    ex(
        "OpenLedgerGovernor",
        "VoteCast",
        voter=USER,
        proposalId=pid,
        support=1,
        weight=4 * E18,
        reason="yes",
    )
    send(
        n,
        OTHER,
        gov,
        calldata(
            "castVoteWithParams(uint256,uint8,uint256,string,bytes)", pid, 0, 7, "", b"\xaa\xbb"
        ),
    )
    ex(
        "OpenLedgerGovernor",
        "VoteCastWithParams",
        voter=OTHER,
        proposalId=pid,
        support=0,
        weight=7,
        reason="",
        params="0xaabb",
    )
    send(n, USER, gov, calldata("queue(uint256,uint256)", pid, ts + 3600))
    ex("OpenLedgerGovernor", "ProposalQueued", proposalId=pid, etaSeconds=ts + 3600)
    send(n, USER, gov, calldata("execute(uint256)", pid))
    ex("OpenLedgerGovernor", "ProposalExecuted", proposalId=pid)
    send(n, USER, gov, calldata("cancel(uint256)", pid + 1))
    ex("OpenLedgerGovernor", "ProposalCanceled", proposalId=pid + 1)
    # Staking: amount in topic3 on Staked; Unstaked without amount, paid bank -> recipient
    st = a["Staking"]
    send(n, DEPLOYER, st, calldata("createConfig(address,address)", a["Open"], BANK))
    ex("Staking", "ConfigCreated", configId=1)
    send(n, DEPLOYER, st, calldata("setConfig(uint256)", 1))
    ex("Staking", "ConfigSet", configId=1)
    principal = 123_456 * E18 + 7
    rc.facts["staked"] = principal
    send(n, USER, st, calldata("stake(address,uint256)", USER, principal))
    ex("Open", "Transfer", **{"from": USER, "to": BANK, "value": principal})
    ex("Staking", "Staked", stakingId=1, recipient=USER, amount=principal)
    send(n, USER, st, calldata("topUpStake(uint256,uint256)", 1, 5 * E18))
    ex("Open", "Transfer", **{"from": USER, "to": BANK, "value": 5 * E18})
    ex("Staking", "ToppedUp", stakingId=1, recipient=USER, amount=5 * E18)
    send(n, USER, st, calldata("requestUnstake(uint256)", 1))
    ex("Staking", "RequestUnstake", stakingId=1, recipient=USER)
    paid = principal + 5 * E18 + 321 * E18
    rc.facts["unstake_paid"] = paid
    rc.facts["unstake_tx"] = send(n, USER, st, calldata("unstake(uint256,uint256)", 1, paid))
    ex("Open", "Transfer", **{"from": BANK, "to": USER, "value": paid})
    ex("Staking", "Unstaked", stakingId=1, recipient=USER)
    send(n, USER, st, calldata("commitStake(bytes)", b"\x01" * 40))
    ex("Staking", "CommitStake", stakingId=2, commitment="0x" + "01" * 40)
    # SigDispersal and the older BaseDistributor
    sd = a["SigDispersal"]
    send(n, DEPLOYER, sd, calldata("setVault(address)", VAULT))
    ex("SigDispersal", "VaultSet", vault=VAULT)
    send(n, DEPLOYER, sd, calldata("setToken(address)", a["Open"]))
    ex("SigDispersal", "TokenSet", token=a["Open"])
    send(n, DEPLOYER, sd, calldata("setBatchEnabled(bytes32,bool)", b32(77), True))
    ex("SigDispersal", "BatchEnabled", root=b32(77), enabled=True)
    send(n, DEPLOYER, sd, calldata("setBatchFee(bytes32,uint256)", b32(77), 10**15))
    ex("SigDispersal", "BatchFeeSet", root=b32(77), fee=10**15)
    send(n, USER, sd, calldata("claim(bytes32,address,uint256)", b32(77), OTHER, 250 * E18), 10**15)
    ex("Open", "Transfer", **{"from": VAULT, "to": OTHER, "value": 250 * E18})
    ex("SigDispersal", "AirdropClaimed", batch=b32(77), account=OTHER, amount=250 * E18)
    send(
        n, USER, a["BaseDistributor"], calldata("claim(address,bytes32,uint256)", OTHER, b32(78), 9)
    )
    ex("BaseDistributor", "AirdropClaimed", account=OTHER, root=b32(78), amount=9)
    # the bridge to the L2: portal deposit (OPEN locked), the message passer, prove/finalize
    portal = a["OptimismPortal"]
    send(n, DEPLOYER, portal, calldata("setToken(address)", a["Open"]))
    send(
        n,
        USER,
        portal,
        calldata(
            "depositERC20Transaction(address,uint256,uint256,uint64,bool,bytes)",
            USER,
            50 * E18,
            0,
            100_000,
            False,
            b"",
        ),
    )
    ex("Open", "Transfer", **{"from": USER, "to": portal, "value": 50 * E18})
    opaque = (
        "0x"
        + (50 * E18).to_bytes(32, "big").hex()
        + "00" * 32
        + (100_000).to_bytes(8, "big").hex()
        + "00"
    )
    ex(
        "OptimismPortal",
        "TransactionDeposited",
        **{"from": USER, "to": USER, "version": 0, "opaqueData": opaque},
    )
    mp = a["L2ToL1MessagePasser"]
    send(
        n,
        USER,
        mp,
        calldata("initiateWithdrawal(address,uint256,bytes)", OTHER, 200_000, b"\x42"),
        3 * E18,
    )
    whash = keccak(
        encode(
            ["uint256", "address", "address", "uint256", "uint256", "bytes"],
            [0, USER, OTHER, 3 * E18, 200_000, b"\x42"],
        )
    )
    ex(
        "L2ToL1MessagePasser",
        "MessagePassed",
        nonce=0,
        sender=USER,
        target=OTHER,
        value=3 * E18,
        gasLimit=200_000,
        data="0x42",
        withdrawalHash=whash,
    )
    send(n, USER, portal, calldata("proveWithdrawal(bytes32,address,address)", whash, USER, OTHER))
    ex("OptimismPortal", "WithdrawalProven", withdrawalHash=whash, **{"from": USER, "to": OTHER})
    send(
        n,
        USER,
        portal,
        calldata("finalizeWithdrawal(bytes32,address,uint256)", whash, OTHER, 3 * E18),
    )
    ex("Open", "Transfer", **{"from": portal, "to": OTHER, "value": 3 * E18})
    ex("OptimismPortal", "WithdrawalFinalized", withdrawalHash=whash, success=True)
    # Custom Gas Token v2 predeploys
    nal, lc = a["NativeAssetLiquidity"], a["LiquidityController"]
    send(n, USER, nal, calldata("deposit()"), 8 * E18)
    ex("NativeAssetLiquidity", "LiquidityDeposited", caller=USER, value=8 * E18)
    send(n, USER, nal, calldata("withdraw(uint256)", 3 * E18))
    ex("NativeAssetLiquidity", "LiquidityWithdrawn", caller=USER, value=3 * E18)
    send(n, OTHER, nal, calldata("fund()"), E18)
    ex("NativeAssetLiquidity", "LiquidityFunded", funder=OTHER, amount=E18)
    send(n, DEPLOYER, lc, calldata("authorizeMinter(address)", USER))
    ex("LiquidityController", "MinterAuthorized", minter=USER, authorizer=DEPLOYER)
    send(n, USER, lc, calldata("mint(address)", OTHER), 2 * E18)
    ex("LiquidityController", "AssetsMinted", minter=USER, to=OTHER, amount=2 * E18)
    send(n, USER, lc, calldata("burn()"), E18 // 2)
    ex("LiquidityController", "AssetsBurned", burner=USER, amount=E18 // 2)
    # a fee vault and the LayerZero endpoint
    fv = a["FeeVault"]
    send(n, USER, fv, "0x", 7 * E18)
    send(n, DEPLOYER, fv, calldata("setRecipient(address)", BANK))
    # the vault also holds the base fees the node paid it (anvil's OP Stack mode, as on the L2)
    held = int(n.call("eth_getBalance", fv, "latest"), 16)
    assert held >= 7 * E18
    send(n, OTHER, fv, calldata("withdraw()"))
    ex("FeeVault", "Withdrawal", value=held, to=BANK, **{"from": OTHER})
    send(n, DEPLOYER, a["EndpointV2"], calldata("setDelegate(address)", OTHER))
    ex("EndpointV2", "DelegateSet", sender=DEPLOYER, delegate=OTHER)


def native_traffic(rc: RealChain) -> None:
    """Value that moves without logs: EOA transfers and an internal transfer that reverts
    (minting to a contract that refuses native OPEN)."""
    n, a = rc.node, rc.addresses
    n.call("evm_setAutomine", False)
    for i in range(3):
        send(n, USER, OTHER, value=(i + 1) * E18)
    send(n, OTHER, USER, value=1)
    n.call("evm_mine")
    n.call("evm_setAutomine", True)
    # No deposit (0x7e) here: anvil 1.7's OP Stack mode names a deposit by one hash in its
    # blocks and another in its receipts and traces, so the receipts stream (rightly) refuses
    # it; tests/chain/test_op_stack.py parses deposits from an op-geth-shaped block instead.
    rc.facts["reverted_tx"] = n.call(
        "eth_sendTransaction",
        {
            "from": USER,
            "to": a["LiquidityController"],
            "data": calldata("mint(address)", a["OpenLedgerGovernor"]),
            "value": hex(E18),
            "gas": hex(200_000),
        },
    )
    # under load anvil can answer with the hash before the block holding it is mined: the
    # head taken next must include it
    deadline = time.monotonic() + 30
    while n.call("eth_getTransactionReceipt", rc.facts["reverted_tx"]) is None:
        assert time.monotonic() < deadline, "the reverted transaction was never mined"
        time.sleep(0.05)


@pytest.fixture(scope="session")
def real_chain() -> Iterator[RealChain]:
    from pipelines.devnet.realchain import STANDS_FOR

    proc, url = start_anvil(1)
    try:
        node = Node(url)
        rc = RealChain(url, node, deploy(node, list(STANDS_FOR.values())))
        emit_everything(rc)
        native_traffic(rc)
        rc.head = node.head()
        yield rc
    finally:
        stop_anvil(proc)
