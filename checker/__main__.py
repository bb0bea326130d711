"""`python -m checker ...` runs the `wolf` command (checker/cli.py), for when `wolf` is not on the PATH."""
import sys

from checker.cli import main

sys.exit(main())
