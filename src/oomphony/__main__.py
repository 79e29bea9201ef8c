import sys

from oomphony.cli.command import main

if __name__ == "__main__":
    sys.exit(main())
