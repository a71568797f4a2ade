"""Live scoring: features -> champion model -> risk scores and alerts (lands with issue #4)."""
