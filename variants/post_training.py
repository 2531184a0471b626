"""Post-training recipes: the float model converted as is, or quantized after training."""

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from variants.convert import Conversion, to_int8, to_tflite
from variants.registry import F1Target, NotApplicable, register

if TYPE_CHECKING:
    from bench.build import BuildContext


@register("float32")
def float32(ctx: "BuildContext") -> bytes:
    """The trained float model, converted without optimization."""
    return to_tflite(ctx.keras_model())


@register("float16", parent="float32")
def float16(ctx: "BuildContext") -> bytes:
    """Weights stored as float16, dequantized to float32 at load."""
    return to_tflite(ctx.keras_model(), Conversion(float16=True))


@register("dynamic_range", parent="float32")
def dynamic_range(ctx: "BuildContext") -> bytes:
    """int8 weights, float activations (tensors under 1,024 elements stay float)."""
    return to_tflite(ctx.keras_model(), Conversion(optimize=True))


@register("int8", parent="float32", f1_target=F1Target(max_loss=0.01), representative_windows=500)
def int8(ctx: "BuildContext", representative_windows: int) -> bytes:
    """Full-integer quantization with int8 input and output, ranges from training windows."""
    return to_int8(ctx, ctx.keras_model(), representative_windows)


@register(
    "int8_per_tensor", parent="int8", f1_target=F1Target(max_loss=0.01), representative_windows=500
)
def int8_per_tensor(ctx: "BuildContext", representative_windows: int) -> bytes:
    """int8 with one scale per dense weight tensor: no per-channel buffers in the arena."""
    from variants._tf import keras

    model = ctx.keras_model()
    if not any(isinstance(layer, keras.layers.Dense) for layer in _layers(model)):
        raise NotApplicable("no Dense layer: the same model as int8 (per-channel is for dense)")
    return to_int8(ctx, model, representative_windows, per_tensor=True)


@register(
    "int16x8", parent="float32", f1_target=F1Target(max_loss=0.01), representative_windows=500
)
def int16x8(ctx: "BuildContext", representative_windows: int) -> bytes:
    """16-bit activations, 8-bit weights, int16 input and output, ranges as int8's."""
    try:
        return to_int8(ctx, ctx.keras_model(), representative_windows, int16x8=True)
    except Exception as err:  # the converter's own refusal names the operator
        found = re.search(r"16x8-bit not yet supported for op: '(\w+)'", str(err))
        if found is None:
            raise
        raise NotApplicable(f"the TF converter has no 16x8 quantization for {found[1]}") from None


def _layers(model: Any) -> Iterator[Any]:
    """Every layer, inside wrappers such as TimeDistributed too."""
    for layer in model.layers:
        yield layer
        inner = getattr(layer, "layer", None)
        if inner is not None:
            yield inner
