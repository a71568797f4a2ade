"""Subcommand registry: each module adds its parser and a `run(args) -> exit code`."""

from precursor.cli.commands import bench, ingest, migrate, serve, simulate, status, up

REGISTRY = [
    up.register,
    migrate.register,
    simulate.register,
    ingest.register,
    serve.register,
    bench.register,
    status.register,
]
