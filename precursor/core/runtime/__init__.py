"""The embedded default: a real PostgreSQL and a real Kafka-protocol broker as child processes."""
