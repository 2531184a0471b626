"""Knowledge distillation: a smaller student learns to reproduce the teacher's reconstructions.

The loss `alpha * MSE(s, teacher) + (1 - alpha) * MSE(s, x)` equals, up to a constant,
`MSE(s, alpha * teacher + (1 - alpha) * x)`: the student fits that blended target.
"""

from typing import TYPE_CHECKING, Any

from variants.baseline import build_model, fit, seed_everything
from variants.registry import F1Target, register_float_and_int8

if TYPE_CHECKING:
    from bench.build import BuildContext


def distill(ctx: "BuildContext", alpha: float) -> Any:
    cfg, x = ctx.train_cfg, ctx.windows.train.x
    teacher = ctx.keras_model()
    target = alpha * teacher.predict(x, batch_size=4096, verbose=0) + (1 - alpha) * x
    seed_everything(cfg.seed)
    hidden = ctx.arch.student or student_widths(x.shape[1], teacher.count_params())
    student = build_model(ctx.arch, x.shape[1], hidden=hidden, channels=ctx.windows.channels)
    return fit(student, x, target, cfg)


def student_widths(width: int, teacher_params: int) -> tuple[int, ...]:
    """A user model's student, whose architecture is not known here: a dense autoencoder
    with one bottleneck, at most a quarter of the window's values and small enough for
    about half the teacher's parameters (2 * width * h + h + width), at least 1 wide."""
    fits_half = (teacher_params // 2 - width) // (2 * width + 1)
    return (max(1, min(width // 4, fits_half)),)


register_float_and_int8(
    "distilled",
    distill,
    "student (fewer, narrower layers) trained on the teacher's reconstructions",
    f1_target=F1Target(min_ratio=0.95),
    student=True,
    alpha=0.5,
)
