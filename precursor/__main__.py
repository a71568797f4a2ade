"""Allow `python -m precursor`, used by `up` to start its child services."""

from precursor.cli.main import main

raise SystemExit(main())
