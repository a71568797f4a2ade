"""Precursor's long-running services: ingest, predict, api (data flows in that order)."""
