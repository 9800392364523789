"""The one error type the devnet raises for problems a user can act on."""

from __future__ import annotations

from pipelines.config import ConfigError


class DevnetError(ConfigError):
    """A devnet problem with a message that says what went wrong and what to do.

    It subclasses ConfigError so ``olw`` prints it without a traceback and exits non-zero.
    """
