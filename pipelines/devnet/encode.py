"""Hand-written calldata for the simulator's hot calls (eth_abi is ~20x slower per call)."""

from __future__ import annotations

from pipelines.devnet.abi import addr_word, call_data, selector, word

_SEL = {
    sig: "0x" + selector(sig).hex()
    for sig in (
        "transfer(address,uint256)",
        "approve(address,uint256)",
        "burn(uint256)",
        "claim()",
        "release()",
        "infer(uint256,uint32,uint32)",
        "route(uint256,uint32,uint32)",
        "inferBatch(uint256[],uint32[],uint32[])",
        "transferMany(address[],uint256[])",
    )
}
MAX_UINT = 2**256 - 1


def transfer(to: str, amount: int) -> str:
    return _SEL["transfer(address,uint256)"] + addr_word(to) + word(amount)


def approve(spender: str, amount: int = MAX_UINT) -> str:
    return _SEL["approve(address,uint256)"] + addr_word(spender) + word(amount)


def burn(amount: int) -> str:
    return _SEL["burn(uint256)"] + word(amount)


def claim() -> str:
    return _SEL["claim()"]


def release() -> str:
    return _SEL["release()"]


def _three(a: int, b: int, c: int) -> str:
    return word(a) + word(b) + word(c)


def infer(model_id: int, tokens_in: int, tokens_out: int) -> str:
    return _SEL["infer(uint256,uint32,uint32)"] + _three(model_id, tokens_in, tokens_out)


def route(model_id: int, tokens_in: int, tokens_out: int) -> str:
    return _SEL["route(uint256,uint32,uint32)"] + _three(model_id, tokens_in, tokens_out)


_WORDS: dict[int, str] = {}


def _w(value: int) -> str:
    out = _WORDS.get(value)
    if out is None:
        out = word(value)
        if value < 1 << 20:  # ids and token counts repeat; amounts don't
            _WORDS[value] = out
    return out


def _array(values: list[int]) -> str:
    return _w(len(values)) + "".join(map(_w, values))


def infer_batch(model_ids: list[int], tokens_in: list[int], tokens_out: list[int]) -> str:
    n = len(model_ids)
    size = 32 * (n + 1)
    head = word(0x60) + word(0x60 + size) + word(0x60 + 2 * size)
    return (
        _SEL["inferBatch(uint256[],uint32[],uint32[])"]
        + head
        + _array(model_ids)
        + _array(tokens_in)
        + _array(tokens_out)
    )


def transfer_many(to: list[str], amounts: list[int]) -> str:
    n = len(to)
    head = word(0x40) + word(0x40 + 32 * (n + 1))
    return (
        _SEL["transferMany(address[],uint256[])"]
        + head
        + word(n)
        + "".join(addr_word(a) for a in to)
        + _array(amounts)
    )


def create_datanet(name: str, metadata_hash: bytes) -> str:
    return call_data("createDatanet(string,bytes32)", name, metadata_hash)


def record_contribution(datanet_id: int, contributor: str, data_hash: bytes, weight: int) -> str:
    return call_data(
        "recordContribution(uint256,address,bytes32,uint256)",
        datanet_id,
        contributor,
        data_hash,
        weight,
    )


def register_model(name: str, datanet_ids: list[int], metadata_hash: bytes, fee: int) -> str:
    return call_data(
        "registerModel(string,uint256[],bytes32,uint256)", name, datanet_ids, metadata_hash, fee
    )


def update_model(model_id: int, metadata_hash: bytes, fee: int) -> str:
    return call_data("updateModel(uint256,bytes32,uint256)", model_id, metadata_hash, fee)
