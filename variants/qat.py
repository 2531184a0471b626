"""Quantization-aware training (TFMOT), converted to a fully int8 model (int8 input and output)."""

import re

from variants import F1Target, NotApplicable, register
from variants.baseline import copy_model, fit, seed_everything
from variants.convert import to_int8

FINE_TUNE_LR = 1e-4


@register("qat", parent="float32", f1_target=F1Target(max_loss=0.01), calibration_windows=500)
def qat(ctx, calibration_windows: int) -> bytes:
    """Fine-tuned with fake quantization, then full-integer int8."""
    import tensorflow_model_optimization as tfmot

    cfg, x = ctx.train_cfg, ctx.windows.train.x
    seed_everything(cfg.seed)
    try:
        model = tfmot.quantization.keras.quantize_model(copy_model(ctx.keras_model()))
    except RuntimeError as err:  # TFMOT 0.8 has no QuantizeConfig for Conv1D, LSTM, ...
        found = re.search(r"Layer (\w+):<class '[\w.]*\.(\w+)'>", str(err))
        layer = f"{found.group(2)} layer {found.group(1)}" if found else "a layer"
        raise NotApplicable(
            f"TFMOT cannot quantize-aware-train the {layer}: it has no QuantizeConfig for it "
            "(int8 is this family's integer variant)"
        ) from None
    fit(model, x, x, cfg, max(2, cfg.epochs // 3), FINE_TUNE_LR)
    return to_int8(ctx, model, calibration_windows)
