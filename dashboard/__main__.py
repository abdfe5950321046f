"""``python -m dashboard --config team.yaml``."""

from dashboard.serve.cli import main

raise SystemExit(main())
