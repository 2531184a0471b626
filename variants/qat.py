"""Quantization-aware training (TFMOT), converted to a fully int8 model (int8 input and output).

TFMOT 0.8 has no QuantizeConfig for Conv1D or Conv1DTranspose; `Conv1DConfig` gives them
the one TFMOT uses for Conv2D (8-bit symmetric kernel, 8-bit activation), per tensor: the
converter lowers a Conv1D to CONV_2D, whose int8 kernel TFLM takes per tensor or per channel.
"""

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from variants.baseline import copy_model, fit, seed_everything
from variants.convert import to_int8
from variants.registry import F1Target, NotApplicable, register

if TYPE_CHECKING:
    from bench.build import BuildContext

FINE_TUNE_LR = 1e-4


def _conv1d_config() -> Any:
    import tensorflow_model_optimization as tfmot

    q = tfmot.quantization.keras

    class Conv1DConfig(q.QuantizeConfig):  # type: ignore[name-defined]
        def get_weights_and_quantizers(self, layer: Any) -> list:
            kernel = q.quantizers.LastValueQuantizer(
                num_bits=8, symmetric=True, narrow_range=True, per_axis=False
            )
            return [(layer.kernel, kernel)]

        def get_activations_and_quantizers(self, layer: Any) -> list:
            activation = q.quantizers.MovingAverageQuantizer(
                num_bits=8, symmetric=False, narrow_range=False, per_axis=False
            )
            return [(layer.activation, activation)]

        def set_quantize_weights(self, layer: Any, weights: Any) -> None:
            layer.kernel = weights[0]

        def set_quantize_activations(self, layer: Any, activations: Any) -> None:
            layer.activation = activations[0]

        def get_output_quantizers(self, layer: Any) -> list:
            return []

        def get_config(self) -> dict:
            return {}

    return Conv1DConfig


def quantize_aware(model: Any) -> Any:
    """`model` with fake quantization on every layer; Conv1D layers get `Conv1DConfig`."""
    import tensorflow_model_optimization as tfmot

    from variants._tf import keras

    q, config = tfmot.quantization.keras, _conv1d_config()
    conv1d = (keras.layers.Conv1D, keras.layers.Conv1DTranspose)

    def annotate(layer: Any) -> Any:
        if isinstance(layer, keras.layers.InputLayer):
            return layer
        custom = config() if isinstance(layer, conv1d) else None
        return q.quantize_annotate_layer(layer, quantize_config=custom)

    annotated = keras.models.clone_model(copy_model(model), clone_function=annotate)
    with q.quantize_scope({"Conv1DConfig": config}):
        return q.quantize_apply(annotated)


@register(
    "qat",
    parent="float32",
    f1_target=F1Target(max_loss=0.01),
    trains=True,
    representative_windows=500,
)
def qat(ctx: "BuildContext", representative_windows: int) -> bytes:
    """Fine-tuned with fake quantization, then full-integer int8."""
    cfg, x = ctx.train_cfg, ctx.windows.train.x
    seed_everything(cfg.seed)
    try:
        model = quantize_aware(ctx.keras_model())
    except RuntimeError as err:  # TFMOT 0.8 has no QuantizeConfig for LSTM, GRU, ...
        found = re.search(r"Layer (\w+):<class '[\w.]*\.(\w+)'>", str(err))
        layer = f"{found.group(2)} layer {found.group(1)}" if found else "a layer"
        raise NotApplicable(
            f"TFMOT cannot quantize-aware-train the {layer}: it has no QuantizeConfig for it "
            "(int8 is this family's integer variant)"
        ) from None
    fit(model, x, x, replace(cfg, epochs=max(2, cfg.epochs // 3), learning_rate=FINE_TUNE_LR))
    return to_int8(ctx, model, representative_windows)
