"""`edgebench variants`: the registry's variants and the built-in architectures."""

import argparse

from bench.commands.common import Subparsers


def arguments(sub: Subparsers) -> None:
    sub.add_parser(
        "variants",
        help="list the registered variants and architectures",
        description="List the registry's variants (name, parent, parameters, "
        "recipe) and the built-in architectures.",
    )


def command(_args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from variants import REGISTRY
    from variants.baseline import ARCHS

    print(
        tabulate(
            [[v.name, v.parent or "", v.params or "", v.summary] for v in REGISTRY.values()],
            headers=["variant", "parent", "params", "recipe"],
            tablefmt="github",
        )
    )
    print()
    print(
        tabulate(
            [[a.name, a.window, a.summary] for a in ARCHS.values()],
            headers=["arch", "window", "model"],
            tablefmt="github",
        )
    )
    return 0
