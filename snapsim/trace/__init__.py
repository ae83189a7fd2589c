"""Boundary traces from any trainer: a versioned directory format, its writer and reader, statistics,
importers and the replay payload model the engine uses to size boundary messages from real data.

    from snapsim.trace import TraceWriter, open_trace
"""

from .manifest import SCHEMA, VERSION, BoundaryInfo, ShardInfo
from .reader import Trace, open_trace
from .replay import TracePayload, check_compatible
from .writer import TraceWriter

__all__ = [
    "SCHEMA",
    "VERSION",
    "BoundaryInfo",
    "ShardInfo",
    "Trace",
    "TraceWriter",
    "open_trace",
    "TracePayload",
    "check_compatible",
]
