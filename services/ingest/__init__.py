"""Ingest: Kafka topics -> validated rows -> PostgreSQL/TimescaleDB, exactly once per row."""
