"""Deterministic smooth noise: a pure function of (seed, stream, time).

A process such as cloud cover needs memory (this minute resembles the last),
yet the simulator must give the same value for an instant whether it computes
a year in one chunk or one step at a time. Value noise does both: standard
normal values sit on knots every ``knot_s`` seconds, drawn from a counter-based
hash of (seed, stream, knot index), and are blended smoothly in between.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a well-mixed 64-bit hash of each element."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def hash_uniform(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """Uniform values in (0, 1), one per integer index, fixed by (seed, stream)."""
    key = splitmix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) ^ splitmix64(np.uint64(stream)))
    with np.errstate(over="ignore"):
        h = splitmix64(np.asarray(index, dtype=np.int64).astype(np.uint64) ^ key)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def hash_normal(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """Standard normal values, one per integer index (Box-Muller on two hashed uniforms)."""
    index = np.asarray(index, dtype=np.int64)
    u1 = hash_uniform(seed, stream, 2 * index)
    u2 = hash_uniform(seed, stream, 2 * index + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def value_noise(epoch_s: np.ndarray, seed: int, stream: int, knot_s: float) -> np.ndarray:
    """Smooth noise with knots every ``knot_s`` seconds; about unit variance at the knots."""
    position = np.asarray(epoch_s, dtype=np.float64) / knot_s
    left = np.floor(position)
    frac = position - left
    weight = frac * frac * (3.0 - 2.0 * frac)  # smoothstep: continuous slope at the knots
    left = left.astype(np.int64)
    a = hash_normal(seed, stream, left)
    b = hash_normal(seed, stream, left + 1)
    return a + (b - a) * weight
