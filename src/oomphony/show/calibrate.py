"""Moved: `python -m oomphony.support.calibrate` (kept so the old command still works)."""

import sys

from oomphony.support.calibrate import main

sys.exit(main()) if __name__ == "__main__" else None
