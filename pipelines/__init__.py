"""Batch pipelines: simulate, replay, train, backtest, benchmarks."""
