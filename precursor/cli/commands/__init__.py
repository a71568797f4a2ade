"""Subcommand registry: each module adds its parser and a `run(args) -> exit code`."""

from precursor.cli.commands import (
    apikey,
    bench,
    ingest,
    migrate,
    model,
    replay,
    score,
    serve,
    simulate,
    status,
    up,
)

REGISTRY = [
    up.register,
    migrate.register,
    simulate.register,
    replay.register,
    ingest.register,
    model.register,
    score.register,
    serve.register,
    bench.register,
    status.register,
    apikey.register,
]
