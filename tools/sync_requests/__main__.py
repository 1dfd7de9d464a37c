"""`python -m sync_requests` with tools/ on the path; the documented way is the shim,
`python3 tools/sync_requests.py` (docs/sync.md)."""

import sys

from sync_requests.cli import main

sys.exit(main())
