"""On-die components of a chiplet, one module each: the MAC array and spiking units (``compute``),
SRAM and DRAM (``memory``), the on-die network (``noc``) and the boundary spike codec (``codec``).

Each exposes pure cost functions: time in ticks (a roofline over the resources a piece of work uses)
and the actions it performs (counted, then priced by :mod:`snapsim.energy`).
"""

from ..native import select_in

select_in(__name__)  # the compiled router, or its Python source (snapsim/native.py)

from .codec import Codec  # noqa: E402
from .compute import Compute  # noqa: E402
from .memory import Memory  # noqa: E402
from .noc import Noc  # noqa: E402

__all__ = ["Codec", "Compute", "Memory", "Noc"]
