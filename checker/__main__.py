"""`python -m checker ...` runs the `wolf` command (checker/cli.py), for when `wolf` is not on the PATH."""
import sys

from checker.launch import command_line

sys.exit(command_line())
