"""`edgebench schema`: the JSON Schema of results.json."""

import argparse

from bench.commands.common import Subparsers


def arguments(sub: Subparsers) -> None:
    sub.add_parser(
        "schema",
        help="print the JSON Schema of results.json",
        description="Print the JSON Schema (draft 2020-12) that a results.json of "
        "this edgebench version validates against.",
    )


def command(_args: argparse.Namespace) -> int:
    import json

    from bench.schema import json_schema

    print(json.dumps(json_schema(), indent=1))
    return 0
