"""Expected failures: things a user can cause and fix (a bad flag, a missing file, a broker that is down).

The CLI prints these as one line and exits with status 2; anything else is a
bug and keeps its traceback.
"""


class UserError(Exception):
    """An expected failure whose message tells the user what to change."""
