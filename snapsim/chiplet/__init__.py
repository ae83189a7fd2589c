"""On-die components of a chiplet, one module each: the MAC array and spiking units (``compute``),
SRAM and DRAM (``memory``), the on-die network (``noc``) and the boundary spike codec (``codec``).

Each exposes pure cost functions: time in ticks (a roofline over the resources a piece of work uses)
and the actions it performs (counted, then priced by :mod:`snapsim.energy`).
"""

from .codec import Codec
from .compute import Compute
from .memory import Memory
from .noc import Noc

__all__ = ["Codec", "Compute", "Memory", "Noc"]
