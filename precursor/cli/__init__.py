"""The `precursor` command line: one subcommand per stage."""
