"""Errors the user can act on: the CLI prints them as one line, never as a traceback."""


class HarnessError(Exception):
    """A failure with a message that says what to do. Exit code 2 unless given."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
