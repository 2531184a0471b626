"""The registry itself: `Variant`, `register`, `REGISTRY` and their checks (the
package imports the recipe modules, which register here)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


class NotApplicable(Exception):
    """A recipe that does not apply to an architecture: its row says why, without error."""


@dataclass(frozen=True)
class F1Target:
    """What a variant promises against float32 on the same data: `f1 >= float32 - max_loss`
    and/or `f1 >= min_ratio * float32`."""

    max_loss: float | None = None
    min_ratio: float | None = None

    def __str__(self) -> str:
        rules = ([f"loss <= {self.max_loss:g}"] if self.max_loss is not None else []) + (
            [f"ratio >= {self.min_ratio:g}"] if self.min_ratio is not None else []
        )
        return " and ".join(rules)

    def margin(self, f1: float, reference: float) -> float:
        """How far `f1` is above what the target asks (negative: below)."""
        found = []
        if self.max_loss is not None:
            found.append(f1 - (reference - self.max_loss))
        if self.min_ratio is not None:
            found.append(f1 - self.min_ratio * reference)
        return min(found, default=0.0)

    def met(self, f1: float, reference: float) -> bool:
        return self.margin(f1, reference) >= -1e-12


@dataclass(frozen=True)
class Variant:
    name: str
    recipe: Callable[..., bytes]
    params: dict = field(default_factory=dict)
    parent: str | None = None
    summary: str = ""
    f1_target: F1Target | None = None
    trains: bool = False  # the recipe trains or fine-tunes a model (seconds, not less)
    student: bool = False  # another architecture than the model it starts from

    def needs_data(self) -> bool:
        """Whether the recipe trains, fine-tunes or sets quantization ranges on data (the float32
        conversion and its float16 and dynamic-range copies read none)."""
        derived = self.parent not in (None, "float32")
        return self.trains or derived or "representative_windows" in self.params


REGISTRY: dict[str, Variant] = {}
Recipe = Callable[..., bytes]


def register(
    name: str,
    *,
    parent: str | None = None,
    f1_target: F1Target | None = None,
    trains: bool = False,
    student: bool = False,
    **params: Any,
) -> Callable[[Recipe], Recipe]:
    """Decorator: add `recipe` to the registry under `name` with fixed `params`."""

    def add(recipe: Recipe) -> Recipe:
        if name in REGISTRY:
            raise ValueError(f"variant {name!r} is registered twice")
        summary = (recipe.__doc__ or "").strip().splitlines()[0] if recipe.__doc__ else ""
        REGISTRY[name] = Variant(
            name, recipe, dict(params), parent, summary, f1_target, trains, student
        )
        return recipe

    return add


def register_float_and_int8(
    name: str,
    transform: Callable[..., Any],
    summary: str,
    f1_target: F1Target | None = None,
    student: bool = False,
    **params: Any,
) -> None:
    """Register `name` (the Keras model from `transform(ctx, **params)`, as float32) and
    `name_int8` (the same model, full-integer quantized), sharing one transform."""
    from variants.convert import to_int8, to_tflite

    def as_float32(ctx: Any, **p: Any) -> bytes:
        return to_tflite(ctx.derived(transform, **p))

    def as_int8(ctx: Any, **p: Any) -> bytes:
        return to_int8(ctx, ctx.derived(transform, **p))

    as_float32.__doc__ = f"{summary}; float32"
    as_int8.__doc__ = f"{summary}; full-integer int8"
    as_float32.__qualname__ = f"{transform.__qualname__}.float32"
    as_int8.__qualname__ = f"{transform.__qualname__}.int8"
    as_float32.__module__ = as_int8.__module__ = transform.__module__
    register(name, parent="float32", f1_target=f1_target, trains=True, student=student, **params)(
        as_float32
    )
    register(f"{name}_int8", parent=name, f1_target=f1_target, student=student, **params)(as_int8)


def check_names(archs: Iterable[str], names: Iterable[str]) -> None:
    """Unknown architecture or variant names: one UsageError with a suggestion."""
    from bench import unknown
    from variants.baseline import ARCHS

    for name in archs:
        if name not in ARCHS:
            raise unknown("architecture", name, ARCHS)
    for name in names:
        if name not in REGISTRY:
            raise unknown("variant", name, REGISTRY)
