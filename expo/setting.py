"""One setting and its three spellings, in a module of its own so store backends can declare theirs.

``expo.config`` gathers the settings of every store backend when it is
imported; a backend therefore cannot import ``expo.config`` itself (it would
import itself half-made). This module imports nothing of the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    type: type = str

    @property
    def env(self) -> str:
        return "EXPO_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")
