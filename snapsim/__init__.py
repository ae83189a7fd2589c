"""snapsim: a discrete-event simulator of chiplet packages, die-to-die links and spike-coded boundaries."""

__version__ = "0.1.0"

__all__ = ["__version__"]
