"""The SNAP reproduction study (registered as ``snap``); see :mod:`.study` and ``docs/study.md``."""

from .study import SnapStudy

__all__ = ["STUDY", "SnapStudy"]

STUDY = SnapStudy()
