"""A deterministic simulated mining / mineral-processing plant with real precursors."""
