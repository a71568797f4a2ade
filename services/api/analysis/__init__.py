"""Read-side analyses the API serves: downtime Pareto, root cause, KPIs."""
