"""The variant registry: every compressed model is registered here once.

A recipe is a function `recipe(ctx, **params) -> bytes` (a .tflite flatbuffer),
where `ctx` is a `bench.build.BuildContext`. Register it with a name, its
parameters and the variant it derives from:

    @register("int8", parent="float32", representative_windows=200)
    def int8(ctx, representative_windows): ...

The CLI, the report and the test suites enumerate `REGISTRY`; there is no
other list of variant names.
"""

from variants.registry import (
    REGISTRY,
    F1Target,
    NotApplicable,
    Recipe,
    Variant,
    check_names,
    register,
    register_float_and_int8,
)

# Importing a recipe module registers its recipes, in this order.
# isort: off
from variants import post_training, pruned, qat, clustered, distilled  # noqa: F401
# isort: on

__all__ = [
    "REGISTRY",
    "F1Target",
    "NotApplicable",
    "Recipe",
    "Variant",
    "check_names",
    "register",
    "register_float_and_int8",
]
