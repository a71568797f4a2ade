"""What every service shares: settings, database access, message contracts, embedded runtime."""
