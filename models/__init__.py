"""Feature definitions, labels, the estimator and its explanations (land with issue #4)."""
