"""The HTTP API (FastAPI): health, readiness and metrics now; resources land per issue."""
