"""The one error type for bad input, so the command line can report it without a traceback."""


class TRMInputError(ValueError):
    """Input that the suite refuses: the message names the argument, the index and the value."""
