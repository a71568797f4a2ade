"""Feature definitions, labels, the estimator and its explanations."""
