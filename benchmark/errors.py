"""One error type for everything a user can get wrong.

The CLI prints ``FptError`` as a single line (what is wrong, and the fix) and exits non-zero,
instead of a traceback: bad input is the user's problem to fix, not ours to debug.
"""


class FptError(Exception):
    """A user-facing error whose message names the thing and the fix, on one line."""

    exit_code = 2


class NeedsData(FptError):
    """The task's data is not prepared; the message carries the exact command to get it."""

    exit_code = 3
