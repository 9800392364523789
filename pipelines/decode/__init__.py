"""ABI-driven columnar decoding of raw logs into decoded.<abi>__<event> tables."""

from pipelines.decode.abi import EventSpec, load_abi_events
from pipelines.decode.decoder import Decoder

__all__ = ["Decoder", "EventSpec", "load_abi_events"]
