#!/usr/bin/env python3
"""Entry point of the sync: `python3 tools/sync_requests.py [options]` (docs/sync.md).

The code is the package tools/sync_requests/ (a package directory wins over this file when
`sync_requests` is imported from tools/, which is sys.path[0] for this script).
"""

import sys

if __name__ == "__main__":
    from sync_requests import main

    sys.exit(main())
