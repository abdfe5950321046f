"""``python -m dashboard --config team.yaml``."""

from dashboard.cli import main

raise SystemExit(main())
