"""The variant registry: every compressed model is registered here once.

A recipe is a function `recipe(ctx, **params) -> bytes` (a .tflite flatbuffer),
where `ctx` is a `variants.build.BuildContext`. Register it with a name, its
parameters and the variant it derives from:

    @register("int8", parent="float32", calibration_windows=200)
    def int8(ctx, calibration_windows): ...

The CLI, the report and the test suites enumerate `REGISTRY`; there is no
other list of variant names.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    name: str
    recipe: Callable[..., bytes]
    params: dict = field(default_factory=dict)
    parent: str | None = None
    summary: str = ""


REGISTRY: dict[str, Variant] = {}


def register(name: str, *, parent: str | None = None, **params):
    """Decorator: add `recipe` to the registry under `name` with fixed `params`."""

    def add(recipe):
        if name in REGISTRY:
            raise ValueError(f"variant {name!r} is registered twice")
        summary = (recipe.__doc__ or "").strip().splitlines()[0] if recipe.__doc__ else ""
        REGISTRY[name] = Variant(name, recipe, dict(params), parent, summary)
        return recipe

    return add


from variants import post_training  # noqa: E402, F401  (registers its recipes)
