"""ABI → event specs: table and column names, DuckDB types, and how each field is decoded."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from eth_utils import keccak

from pipelines.config import ConfigError, schemas_dir

COMMON_COLUMNS: tuple[tuple[str, str], ...] = (
    ("chain_id", "uinteger"),
    ("block_number", "ubigint"),
    ("block_hash", "varchar"),
    ("block_timestamp", "timestamp"),
    ("tx_hash", "varchar"),
    ("tx_index", "uinteger"),
    ("log_index", "uinteger"),
    ("contract_address", "varchar"),
    ("tx_from", "varchar"),
)
_RENAMES = {"from": "from_address", "to": "to_address"}
_TYPE = re.compile(r"^(u?int)(\d*)$|^bytes(\d+)$")
_ARRAY = re.compile(r"^(.+)\[(\d*)\]$")
# An ABI is input: event and parameter names must be Solidity identifiers, and every generated
# SQL identifier (table, column) must be plain lowercase snake case; anything else is refused.
_SOLIDITY_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_SQL_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_NAME = 63  # longer generated identifiers are refused (PostgreSQL's limit, for dbt's sake)


def quote_ident(name: str) -> str:
    """A SQL identifier, double-quoted (names are validated too; this is the second guard)."""
    return '"' + name.replace('"', '""') + '"'


def snake(name: str) -> str:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.replace(".", "_").lower()


def duck_type(abi_type: str) -> str:
    """The DuckDB column type for an ABI type (CONTRACTS.md: one encoding per concept)."""
    if abi_type.endswith("]"):
        return duck_type(abi_type[: abi_type.rindex("[")]) + "[]"
    m = _TYPE.match(abi_type)
    if m and m.group(1):
        bits = int(m.group(2) or 256)
        if m.group(1) == "uint":
            return "ubigint" if bits <= 64 else "uhugeint"
        return "bigint" if bits <= 64 else "hugeint"
    if abi_type == "bool":
        return "boolean"
    if abi_type in ("address", "string", "bytes") or (m and m.group(3)):
        return "varchar"
    if abi_type.startswith("tuple") or abi_type.startswith("("):
        return "varchar"  # JSON text; no tuple events in our ABIs
    raise ValueError(f"unsupported ABI type {abi_type!r}")


def is_static_word(abi_type: str) -> bool:
    """One 32-byte word that SQL can decode by slicing (ints, address, bool, bytesN)."""
    if abi_type in ("address", "bool"):
        return True
    m = _TYPE.match(abi_type)
    if m and m.group(1):
        bits = int(m.group(2) or 256)
        return bits % 8 == 0 and 8 <= bits <= 256
    return bool(m and m.group(3) and 1 <= int(m.group(3)) <= 32)


@dataclass(frozen=True)
class Layout:
    """How the columnar (SQL) decoder reads one body field.

    kind: ``word`` (one static word in the head), ``fixed`` (``T[k]``: k words in the head),
    ``array`` (``T[]``: head word = offset of a length word followed by that many words),
    ``bytes`` / ``string`` (head word = offset of a length word followed by the padded bytes).
    ``elem`` is the one-word element type of word/fixed/array; ``words`` the head words used.
    """

    kind: str
    elem: str = ""
    words: int = 1


def sql_layout(abi_type: str) -> Layout | None:
    """The layout of a body field, or None when SQL cannot decode it (tuples, nested arrays,
    arrays of dynamic types): such events fall back to eth_abi row by row."""
    if is_static_word(abi_type):
        return Layout("word", abi_type)
    if abi_type in ("bytes", "string"):
        return Layout(abi_type)
    m = _ARRAY.match(abi_type)
    if m and is_static_word(m.group(1)):
        if not m.group(2):
            return Layout("array", m.group(1))
        if int(m.group(2)) > 0:
            return Layout("fixed", m.group(1), int(m.group(2)))
    return None


@dataclass(frozen=True)
class Param:
    name: str
    column: str
    abi_type: str
    indexed: bool

    @property
    def sql_type(self) -> str:
        if self.indexed and not is_value_type(self.abi_type):
            return "varchar"  # an indexed string/bytes/array is only its keccak hash
        return duck_type(self.abi_type)


def is_wide_uint(abi_type: str) -> bool:
    """An unsigned integer wider than UHUGEINT (uint136..uint256): its decoded column holds the
    values below 2^128 and a BIGNUM companion the others (docs/CONTRACTS.md)."""
    m = _TYPE.match(abi_type)
    return bool(m and m.group(1) == "uint" and int(m.group(2) or 256) > 128)


def array_base(abi_type: str) -> tuple[str, int]:
    """(element type, array depth): ``uint256[3][]`` -> ``("uint256", 2)``."""
    depth = 0
    while (m := _ARRAY.match(abi_type)) is not None:
        abi_type, depth = m.group(1), depth + 1
    return abi_type, depth


def is_wide(abi_type: str) -> bool:
    """A wide uint or an array (of arrays...) of them: the field has a BIGNUM companion."""
    return is_wide_uint(array_base(abi_type)[0])


WIDE_SUFFIX = "_u256"


def wide_params(ev: EventSpec) -> list[Param]:
    """The fields with a BIGNUM companion, in the order of :func:`wide_columns`."""
    wide = [p for p in ev.params if is_wide(p.abi_type)]
    wide = [p for p in wide if is_value_type(p.abi_type) or not p.indexed]  # not a hash
    return [p for p in wide if not p.abi_type.endswith("]")] + [
        p for p in wide if p.abi_type.endswith("]")
    ]


def wide_columns(ev: EventSpec) -> list[tuple[str, str]]:
    """The BIGNUM companions of an event's wide uint fields, after all its other columns (so a
    warehouse made before them gains them by ``alter table ... add column``): first those of
    scalar fields (``bignum``), then those of arrays (``bignum[]``, one ``[]`` per depth), so a
    warehouse made when only scalars had companions gains the array ones the same way.

    An array's companion holds the whole array as BIGNUM[] when an element is 2^128 or more
    (its list column then NULL), else NULL (docs/CONTRACTS.md)."""
    return [
        (p.column + WIDE_SUFFIX, "bignum" + "[]" * array_base(p.abi_type)[1])
        for p in wide_params(ev)
    ]


def is_value_type(abi_type: str) -> bool:
    return not (abi_type in ("string", "bytes") or abi_type.endswith("]") or "(" in abi_type)


@dataclass(frozen=True)
class EventSpec:
    abi_name: str
    name: str
    signature: str
    topic0: str
    params: tuple[Param, ...]

    @property
    def table(self) -> str:
        return f"{snake(self.abi_name)}__{snake(self.name)}"

    @property
    def qualified(self) -> str:
        """``decoded."<table>"``: the decoded table, quoted, for generated SQL."""
        return f"decoded.{quote_ident(self.table)}"

    @property
    def indexed(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.indexed)

    @property
    def body(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.indexed)

    @property
    def columnar(self) -> bool:
        """True when SQL decodes every field (static words, ``T[]``/``T[k]`` of static words,
        ``bytes``, ``string``; an indexed value type is one word, any other indexed field its
        hash); otherwise the decoder falls back to eth_abi row by row."""
        return all(p.indexed or sql_layout(p.abi_type) is not None for p in self.params)

    def columns(self) -> list[tuple[str, str]]:
        return [
            *COMMON_COLUMNS,
            *((p.column, p.sql_type) for p in self.params),
            *wide_columns(self),
        ]

    def ddl(self) -> str:
        cols = ",\n    ".join(f"{quote_ident(c)} {t}" for c, t in self.columns())
        return f"create table if not exists {self.qualified} (\n    {cols}\n)"


def _canonical_type(inp: dict, where: str = "ABI input") -> str:
    t = inp.get("type")
    if not isinstance(t, str):
        raise ConfigError(f"{where}: needs a 'type'")
    if t.startswith("tuple"):
        comps = inp.get("components", [])
        if not isinstance(comps, list) or not all(isinstance(c, dict) for c in comps):
            raise ConfigError(f"{where}: 'components' of a tuple must be a list of inputs")
        if not re.fullmatch(r"(\[\d*\])*", t[5:]):
            raise ConfigError(f"{where}: unsupported ABI type {t!r}")
        inner = ",".join(_canonical_type(c, where) for c in comps)
        return f"({inner}){t[5:]}"
    try:
        duck_type(t)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return t


def _check_sql_name(name: str, where: str, what: str) -> str:
    if not _SQL_NAME.match(name) or len(name) > MAX_NAME:
        raise ConfigError(
            f"{where}: {what} {name!r} cannot be a SQL identifier (lowercase letters, digits "
            f"and _, at most {MAX_NAME} characters); fix the ABI"
        )
    return name


def _check_solidity_name(name: object, where: str, what: str) -> str:
    if not isinstance(name, str) or not _SOLIDITY_NAME.match(name):
        raise ConfigError(
            f"{where}: {what} {name!r} is not a Solidity identifier (letters, digits, _ and $, "
            "not starting with a digit); the ABI file is malformed or hostile"
        )
    return name


@lru_cache(maxsize=64)
def load_abi_events(abi_file: str) -> tuple[EventSpec, ...]:
    """Event specs of one ABI file (path relative to schemas/); ConfigError if malformed."""
    path = Path(abi_file) if Path(abi_file).is_absolute() else schemas_dir() / abi_file
    where = str(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{where}: ABI file not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: ABI is not valid JSON ({exc})") from None
    if isinstance(data, dict) and "abi" in data:
        data = data["abi"]
    if not isinstance(data, list):
        raise ConfigError(f"{where}: an ABI must be a JSON list of entries")
    abi_name = path.stem
    _check_sql_name(snake(abi_name), where, "the file name (as a table prefix)")
    out = []
    common = {c for c, _ in COMMON_COLUMNS}
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or "type" not in entry:
            raise ConfigError(f"{where}: entry {i} is not an ABI object with a 'type'")
        if entry["type"] != "event" or entry.get("anonymous"):
            continue
        name = entry.get("name")
        inputs = entry.get("inputs")
        if not isinstance(name, str) or not name or not isinstance(inputs, list):
            raise ConfigError(f"{where}: event entry {i} needs a 'name' and an 'inputs' list")
        _check_solidity_name(name, f"{where}: event entry {i}", "event name")
        table = f"{snake(abi_name)}__{snake(name)}"
        _check_sql_name(table, f"{where}: event {name}", "table name")
        params = []
        by_column: dict[str, str] = {}
        for j, inp in enumerate(inputs):
            w = f"{where}: event {name} input {j}"
            if not isinstance(inp, dict):
                raise ConfigError(f"{w}: needs a 'type'")
            pname = inp.get("name") or f"arg{j}"
            _check_solidity_name(pname, w, "parameter name")
            col = _RENAMES.get(pname, snake(pname))
            if col in common:
                col = f"arg_{col}"
            _check_sql_name(col, w, "column name")
            if col in by_column:
                raise ConfigError(
                    f"{w}: parameters {by_column[col]!r} and {pname!r} would both be column "
                    f"{col!r} of decoded.{table}; rename one in the ABI"
                )
            by_column[col] = pname
            abi_type = _canonical_type(inp, w)
            params.append(Param(pname, col, abi_type, bool(inp.get("indexed"))))
        if sum(p.indexed for p in params) > 3:
            raise ConfigError(f"{where}: event {name} has more than 3 indexed inputs")
        sig = f"{name}({','.join(p.abi_type for p in params)})"
        topic0 = "0x" + keccak(text=sig).hex()
        out.append(EventSpec(abi_name, name, sig, topic0, tuple(params)))
    return tuple(out)
