"""Precursor: predictive incident analytics over equipment telemetry."""

__version__ = "0.1.0"
