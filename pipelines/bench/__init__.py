"""Benchmarks behind `precursor bench`: ratios measured within one run, never absolute gates."""
