"""Link-layer framing: how many flits a message of B payload bits takes on a link, and its wire bits.

A message of ``B`` payload bits is framed into ``n = max(1, ceil(ceil(B/8) / payload_bytes_per_flit))``
flits of ``flit_bytes`` each (header and CRC included). An empty message still sends one flit (a
timestep marker). This module is the only place that rule is written: the network, the analytical
bounds and the payload reports all call it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["flits_for_bits", "flits_for_bits_array"]


def flits_for_bits(payload_bits: int, payload_bits_per_flit: int) -> int:
    """Flits of one message of ``payload_bits`` on a link whose flits carry ``payload_bits_per_flit``."""
    payload_bytes = -(-int(payload_bits) // 8)
    per_flit = payload_bits_per_flit // 8
    return max(1, -(-payload_bytes // per_flit))


def flits_for_bits_array(payload_bits: np.ndarray, payload_bits_per_flit: int) -> np.ndarray:
    """:func:`flits_for_bits` of every element of an integer array (vectorised, same rule)."""
    payload_bytes = -(-np.asarray(payload_bits, dtype=np.int64) // 8)
    per_flit = payload_bits_per_flit // 8
    return np.maximum(1, -(-payload_bytes // per_flit))
