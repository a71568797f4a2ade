"""The plant's shift pattern, shared by features and downtime analyses."""

DAY_SHIFT_HOURS = (6, 17)  # the day shift runs 06:00-17:59 UTC, the night shift the rest
