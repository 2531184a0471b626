"""The report, REPORT.md, from a results dict alone, one module per part of it: the
answer first (`answer`), then per architecture its tables (`cells`), detection
(`detection`), boards (`boards`) and model (`model`), then the data (`data`) and the
environment (`environment`); `render` puts them in order and `write` draws the figures
and writes the file."""

from bench.report.answer import answer_table, answer_text, basis_line, identical
from bench.report.detection import noise_table
from bench.report.render import render, write

__all__ = [
    "answer_table",
    "answer_text",
    "basis_line",
    "identical",
    "noise_table",
    "render",
    "write",
]
