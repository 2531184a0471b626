"""Knowledge distillation: a smaller student learns to reproduce the teacher's reconstructions.

The loss `alpha * MSE(s, teacher) + (1 - alpha) * MSE(s, x)` equals, up to a constant,
`MSE(s, alpha * teacher + (1 - alpha) * x)`: the student fits that blended target.
"""

from typing import TYPE_CHECKING, Any

from variants import F1Target, register_float_and_int8
from variants.baseline import build_model, fit, seed_everything

if TYPE_CHECKING:
    from variants.build import BuildContext


def distill(ctx: "BuildContext", alpha: float) -> Any:
    cfg, x = ctx.train_cfg, ctx.windows.train.x
    teacher = ctx.keras_model()
    target = alpha * teacher.predict(x, batch_size=4096, verbose=0) + (1 - alpha) * x
    seed_everything(cfg.seed)
    student = build_model(
        ctx.arch, x.shape[1], hidden=ctx.arch.student or None, channels=ctx.windows.channels
    )
    return fit(student, x, target, cfg)


register_float_and_int8(
    "distilled",
    distill,
    "student (fewer, narrower layers) trained on the teacher's reconstructions",
    f1_target=F1Target(min_ratio=0.95),
    alpha=0.5,
)
