"""Free text from a results file, as markdown that shows it and runs nothing."""

import html


def text(value: object) -> str:
    """No raw HTML, no code span, one line (so no heading or list of its own)."""
    escaped = html.escape(str(value), quote=False).replace("`", "'")
    return " ".join(escaped.split())
