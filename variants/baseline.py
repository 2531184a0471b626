"""Model architectures and training of the float baseline (the teacher of every variant).

- `seed`: the case study's autoencoder, Dense(window) -> 4 relu -> window sigmoid.
- `deep`: a deep dense autoencoder over longer windows (one 48-bar trading session),
  in the spirit of MLPerf Tiny's anomaly-detection model, where compression pays.
- `conv`: a 1-D convolutional autoencoder in the Conv-AE style (strided Conv1D down,
  Conv1DTranspose up: no UpSampling1D, whose CONCATENATION TFLM refuses).
- `lstm`: an LSTM autoencoder (LSTM encoder, Dense + Reshape to a sequence instead of
  RepeatVector, whose TILE TFLM lacks, LSTM decoder, a Dense per step).

Every model takes flat windows (window x channels, as the data pipeline makes them);
the sequence families reshape to (window, channels) inside, so TFLM sees RESHAPE.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Arch:
    name: str
    window: int  # default window length
    hidden: tuple[int, ...]  # encoder widths; the decoder mirrors them but the last
    output: str  # activation of the reconstruction layer
    summary: str
    student: tuple[int, ...] = ()  # encoder widths of the distilled student
    family: str = "dense"  # dense, conv or lstm


ARCHS = {
    "seed": Arch(
        "seed", 10, (4,), "sigmoid", "case study: Dense 10 -> 4 relu -> 10 sigmoid", student=(2,)
    ),
    "deep": Arch(
        "deep",
        48,
        (128, 128, 64, 8),
        "linear",
        "deep dense AE: 48-128-128-64-8-64-128-128-48",
        student=(32, 8),
    ),
    "conv": Arch(
        "conv",
        48,
        (16, 8),
        "linear",
        "Conv1D AE: Conv1D 16, 8 (k7, stride 2) -> Conv1DTranspose 8, 16 -> 1",
        student=(8, 4),
        family="conv",
    ),
    "lstm": Arch(
        "lstm",
        48,
        (16,),
        "linear",
        "LSTM AE: LSTM 16 -> Dense + Reshape -> LSTM 16 -> Dense per step",
        student=(8,),
        family="lstm",
    ),
}
# The default run's archs: those whose float32 beats the best baseline beyond noise on the
# built-in stream (README, "Detectors worth their place"); the others are opt-in, as is
# lstm, whose training is the slowest.
DEFAULT_ARCHS = ("seed",)


STEPS = 10_000  # steps per graph call: Keras cuts an execution at the epoch's end


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def build_model(
    arch: Arch, width: int, hidden: tuple[int, ...] | None = None, channels: int = 1
) -> Any:
    """The untrained Keras (tf_keras) autoencoder for flat windows of `width` values
    (window x channels). `hidden` replaces the encoder widths (the distilled student)."""
    from variants._tf import keras

    hidden = arch.hidden if hidden is None else hidden
    build = {"dense": _dense, "conv": _conv, "lstm": _lstm}[arch.family]
    model = keras.Sequential(name=f"{arch.name}_autoencoder")
    build(model, arch, width, hidden, channels)
    return model


def _dense(model: Any, arch: Arch, width: int, hidden: tuple, channels: int) -> None:
    from variants._tf import keras

    layers, widths = keras.layers, list(hidden) + list(reversed(hidden[:-1]))
    model.add(layers.Input(shape=(width,), name="window"))
    for i, units in enumerate(widths):
        model.add(layers.Dense(units, activation="relu", name=f"dense_{i}"))
    model.add(layers.Dense(width, activation=arch.output, name="reconstruction"))


def _sequence(width: int, channels: int) -> int:
    if width % channels:
        raise ValueError(f"{width} values are not a whole number of {channels}-channel steps")
    return width // channels


def _conv(model: Any, arch: Arch, width: int, hidden: tuple, channels: int) -> None:
    from variants._tf import keras

    layers, steps = keras.layers, _sequence(width, channels)
    if steps % 2 ** len(hidden):
        raise ValueError(
            f"the conv arch halves the window {len(hidden)} times: use a window "
            f"divisible by {2 ** len(hidden)}, not {steps}"
        )
    model.add(layers.Input(shape=(width,), name="window"))
    model.add(layers.Reshape((steps, channels)))
    for i, filters in enumerate(hidden):
        model.add(
            layers.Conv1D(
                filters, 7, strides=2, padding="same", activation="relu", name=f"encode_{i}"
            )
        )
    for i, filters in enumerate(reversed(hidden)):
        model.add(
            layers.Conv1DTranspose(
                filters, 7, strides=2, padding="same", activation="relu", name=f"decode_{i}"
            )
        )
    model.add(
        layers.Conv1DTranspose(
            channels, 7, padding="same", activation=arch.output, name="reconstruction"
        )
    )
    model.add(layers.Reshape((width,)))


def _lstm(model: Any, arch: Arch, width: int, hidden: tuple, channels: int) -> None:
    from variants._tf import keras

    layers, steps, units = keras.layers, _sequence(width, channels), hidden[0]
    model.add(layers.Input(shape=(width,), name="window"))
    model.add(layers.Reshape((steps, channels)))
    model.add(layers.LSTM(units, name="encode"))
    model.add(layers.Dense(steps * 4, activation="relu", name="expand"))
    model.add(layers.Reshape((steps, 4)))
    model.add(layers.LSTM(units, return_sequences=True, name="decode"))
    model.add(
        layers.TimeDistributed(
            layers.Dense(channels, activation=arch.output), name="reconstruction"
        )
    )
    model.add(layers.Reshape((width,)))


def train(arch: Arch, x_train: np.ndarray, cfg: TrainConfig, channels: int = 1) -> Any:
    """Train on normal windows to reconstruct themselves; deterministic for `cfg.seed`."""
    seed_everything(cfg.seed)
    model = build_model(arch, x_train.shape[1], channels=channels)
    return fit(model, x_train, x_train, cfg)


def seed_everything(seed: int) -> None:
    from variants._tf import keras, tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit(
    model: Any, x: np.ndarray, y: np.ndarray, cfg: TrainConfig, callbacks: Sequence[Any] = ()
) -> Any:
    """Compile with Adam on MSE and fit for `cfg.epochs` at `cfg.learning_rate`; every
    recipe that trains goes through here."""
    from variants._tf import keras

    # An epoch's steps run in one graph call: the same updates in the same order (the same
    # weights, bit for bit) without Python's per-step overhead, which dominates for models
    # this small. TFMOT's pruning wrapper counts its steps inside the graph, so it agrees.
    optimizer = keras.optimizers.Adam(cfg.learning_rate)
    model.compile(optimizer=optimizer, loss="mse", steps_per_execution=STEPS)
    # The optimizer's slots made now: a first trace that creates variables is traced twice.
    optimizer.build(model.trainable_variables)
    model.fit(
        x,
        y,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=list(callbacks),
    )
    return model


def wrap_supported(model: Any, wrap: Callable[[Any], Any], supports: Callable[[Any], bool]) -> Any:
    """A copy of `model` whose layers that `supports` are wrapped by `wrap` (TFMOT's way
    for models that mix supported and unsupported layers); the rest are kept as they are."""
    from variants._tf import keras

    return keras.models.clone_model(
        copy_model(model), clone_function=lambda layer: wrap(layer) if supports(layer) else layer
    )


def copy_model(model: Any) -> Any:
    """An independent copy with the same weights, so a recipe never alters the teacher."""
    from variants._tf import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone
