"""Configuration: strict YAML, typed models, presets and validation."""

from .hardware import PRECISION_BITS, ChipletConfig, HardwareConfig, LinkConfig, TopologyConfig
from .load import apply_overrides, config_hash, load_chiplet, load_hardware, load_link, load_workload, validate_file
from .workload import WorkloadConfig
from .yamlio import load_yaml

__all__ = [
    "PRECISION_BITS",
    "ChipletConfig",
    "HardwareConfig",
    "LinkConfig",
    "TopologyConfig",
    "WorkloadConfig",
    "apply_overrides",
    "config_hash",
    "load_chiplet",
    "load_hardware",
    "load_link",
    "load_workload",
    "load_yaml",
    "validate_file",
]
