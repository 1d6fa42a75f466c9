"""clipper: turn markdown video notes into video clips."""

__version__ = "0.1.0"
