import sys

from oomphony.cli import main

sys.exit(main())
