"""Post-training recipes: the float model converted as is, or quantized after training."""

from variants import F1Target, register
from variants.convert import to_int8, to_tflite


@register("float32")
def float32(ctx) -> bytes:
    """The trained float model, converted without optimization."""
    return to_tflite(ctx.keras_model())


@register("float16", parent="float32")
def float16(ctx) -> bytes:
    """Weights stored as float16, dequantized to float32 at load."""
    return to_tflite(ctx.keras_model(), float16=True)


@register("dynamic_range", parent="float32")
def dynamic_range(ctx) -> bytes:
    """int8 weights, float activations (tensors under 1,024 elements stay float)."""
    return to_tflite(ctx.keras_model(), optimize=True)


@register("int8", parent="float32", f1_target=F1Target(max_loss=0.01), calibration_windows=500)
def int8(ctx, calibration_windows: int) -> bytes:
    """Full-integer quantization with int8 input and output, calibrated on training windows."""
    return to_int8(ctx, ctx.keras_model(), calibration_windows)
