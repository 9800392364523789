"""Decoder unit tests on hand-made logs: every undecodable shape lands in the dead letters."""

from __future__ import annotations

import duckdb
import pytest
from eth_abi import encode

from pipelines.config import ConfigError, ContractConfig
from pipelines.decode import Decoder, load_abi_events
from pipelines.store import migrate
from tests.decode.logs import stage

TOKEN = "0x" + "11" * 20
MODELS = "0x" + "22" * 20
TRANSFER = next(e for e in load_abi_events("abis/OpenToken.json") if e.name == "Transfer")
REGISTERED = next(
    e for e in load_abi_events("abis/ModelRegistry.json") if e.name == "ModelRegistered"
)


def _word(x: int) -> str:
    return format(x, "064x")


def _addr_topic(a: str) -> str:
    return "0x" + a[2:].rjust(64, "0")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    migrate(c)
    return c


@pytest.mark.parametrize("arrow", [False, True])
def test_static_and_dynamic_events_decode_and_bad_ones_are_dead_lettered(
    con: duckdb.DuckDBPyConnection, arrow: bool
) -> None:
    dec = Decoder(
        [
            ContractConfig("OpenToken", TOKEN, "abis/OpenToken.json", 0),
            ContractConfig("ModelRegistry", MODELS, "abis/ModelRegistry.json", 0),
        ]
    )
    dec.ensure_tables(con)
    a, b = "0x" + "0a" * 20, "0x" + "0b" * 20
    t = [TRANSFER.topic0, _addr_topic(a), _addr_topic(b)]
    body = encode(
        ["string", "uint256[]", "bytes32", "uint256"], ["gpt-ö", [1, 2**128 - 1], b"\x01" * 32, 5]
    )
    # an element of 2^128 or more: the whole array in datanet_ids_u256 (issue 9)
    wide = encode(
        ["string", "uint256[]", "bytes32", "uint256"], ["x", [2**256 - 1, 2], b"\x01" * 32, 5]
    )
    logs = [
        {"address": TOKEN, "topics": t, "data": "0x" + _word(2**128 - 1)},  # ok, max UHUGEINT
        {"address": TOKEN, "topics": t, "data": "0x" + _word(2**128)},  # ok, in value_u256
        {"address": TOKEN, "topics": t, "data": "0x" + _word(1) + "00"},  # wrong_data_length
        {"address": TOKEN, "topics": t[:2], "data": "0x" + _word(1)},  # wrong_topic_count
        {"address": TOKEN, "topics": ["0x" + "99" * 32], "data": "0x"},  # unknown_topic0
        {
            "address": TOKEN,
            "topics": [TRANSFER.topic0, "0x" + "ff" * 32, t[2]],
            "data": "0x" + _word(1),
        },  # address word with dirty high bytes
        {
            "address": MODELS,
            "topics": [REGISTERED.topic0, "0x" + _word(3), _addr_topic(a)],
            "data": "0x" + body.hex(),
        },  # ok (dynamic)
        {
            "address": MODELS,
            "topics": [REGISTERED.topic0, "0x" + _word(3), _addr_topic(a)],
            "data": "0x" + wide.hex(),
        },  # ok, an array element 2^256 - 1
        {
            "address": MODELS,
            "topics": [REGISTERED.topic0, "0x" + _word(3), _addr_topic(a)],
            "data": "0x" + body.hex()[:100],
        },  # truncated dynamic data
    ]
    stage(con, dec, logs, arrow=arrow)
    decoded, dead = dec.decode_stage(con)
    assert (decoded, dead) == (4, 5)
    # a registered Arrow stage is decoded from a temp copy (statistics), dropped afterwards
    assert con.execute(
        "select table_name from duckdb_tables() where table_name like '_stage%'"
    ).fetchall() == ([] if arrow else [("_stage",)])
    reasons = dict(con.execute("select log_index, reason from raw.dead_letters").fetchall())
    assert reasons == {
        2: "wrong_data_length",
        3: "wrong_topic_count",
        4: "unknown_topic0",
        5: "value_out_of_range",
        8: "wrong_data_length",
    }
    assert con.execute(
        "select from_address, to_address, value, value_u256::varchar "
        "from decoded.open_token__transfer order by log_index"
    ).fetchall() == [(a, b, 2**128 - 1, None), (a, b, None, str(2**128))]
    assert con.execute(
        "select model_id, owner, name, datanet_ids, metadata_hash, fee_per_inference, tx_from, "
        "datanet_ids_u256::varchar[] from decoded.model_registry__model_registered "
        "order by log_index"
    ).fetchall() == [
        (3, a, "gpt-ö", [1, 2**128 - 1], "0x" + "01" * 32, 5, "0x" + "ee" * 20, None),
        (3, a, "x", None, "0x" + "01" * 32, 5, "0x" + "ee" * 20, [str(2**256 - 1), "2"]),
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ('{"x": 1}', "JSON list"),
        ('[{"type": "event", "name": "E"}]', "'inputs' list"),
        (
            '[{"type": "event", "name": "E", "inputs": [{"name": "a", "type": "uint7x"}]}]',
            "unsupported ABI type",
        ),
    ],
)
def test_malformed_abi_is_refused_with_the_file_named(tmp_path, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "Bad.json"
    f.write_text(text)
    load_abi_events.cache_clear()
    with pytest.raises(ConfigError, match=message) as exc:
        Decoder([ContractConfig("Bad", TOKEN, str(f), 0)])
    assert "Bad.json" in str(exc.value)
