"""Expected failures: things a user can cause and fix (a bad flag, a missing file, a broker that is down).

The CLI prints these as one line and exits with status 2; anything else is a
bug and keeps its traceback.
"""


class UserError(Exception):
    """An expected failure whose message tells the user what to change."""


class Refused(ValueError):
    """Input refused for a countable ``reason`` (``malformed``, ``counter_backwards``, ...), with a ``detail``
    for the engineer.

    One type for the contract's validation, the decoders, the plausibility checks and the counters, so the
    code that quarantines a message reads the reason off the exception instead of guessing it from the text.
    """

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
