"""The start of a `wolf` process (the `wolf` script and `python -m checker`): the garbage collector is switched
off before anything else is imported, then checker/cli.py `command_line` runs.

The imports and the parser's tables make some 36,000 objects that the collector tracks, and it would walk the
growing heap several times while they are made, to find nothing: 0.7% of the instructions of a check of NSPK. `command_line` then freezes what was imported and keeps the collector off for the whole run (its doc
says why). Importing checker.cli as a library, as the tests do, leaves the collector alone.
"""
import gc


def command_line() -> int:
    gc.disable()
    from checker.cli import command_line as run
    return run()
