"""Numbered SQL migrations, applied once each by `precursor migrate`."""
