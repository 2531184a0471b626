"""edgebench: measure compressed TinyML anomaly detectors side by side."""


class UsageError(Exception):
    """Bad input from the user: the CLI prints it as one line and exits 2."""
