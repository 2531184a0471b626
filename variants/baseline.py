"""Model architectures and training of the float baseline (the teacher of every variant).

- `seed`: the case study's autoencoder, Dense(window) -> 4 relu -> window sigmoid.
- `deep`: a deep dense autoencoder over longer windows (one 48-bar trading session),
  in the spirit of MLPerf Tiny's anomaly-detection model, where compression pays.
"""

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Arch:
    name: str
    window: int  # default window length
    hidden: tuple[int, ...]  # encoder widths; the decoder mirrors them but the last
    output: str  # activation of the reconstruction layer
    summary: str
    student: tuple[int, ...] = ()  # encoder widths of the distilled student


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
}


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def build_model(arch: Arch, window: int, hidden: tuple[int, ...] | None = None):
    """The untrained Keras (tf_keras) autoencoder for `window` inputs.

    `hidden` replaces the architecture's encoder widths (the distilled student)."""
    from variants._tf import keras

    layers = keras.layers
    hidden = arch.hidden if hidden is None else hidden
    widths = list(hidden) + list(reversed(hidden[:-1]))
    model = keras.Sequential(name=f"{arch.name}_autoencoder")
    model.add(layers.Input(shape=(window,), name="window"))
    for i, width in enumerate(widths):
        model.add(layers.Dense(width, activation="relu", name=f"dense_{i}"))
    model.add(layers.Dense(window, activation=arch.output, name="reconstruction"))
    return model


def train(arch: Arch, x_train: np.ndarray, cfg: TrainConfig):
    """Train on normal windows to reconstruct themselves; deterministic for `cfg.seed`."""
    seed_everything(cfg.seed)
    model = build_model(arch, x_train.shape[1])
    return fit(model, x_train, x_train, cfg, cfg.epochs, cfg.learning_rate)


def seed_everything(seed: int) -> None:
    from variants._tf import keras, tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit(model, x, y, cfg: TrainConfig, epochs: int, learning_rate: float, callbacks=()):
    """Compile with Adam on MSE and fit; every recipe that trains goes through here."""
    from variants._tf import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=cfg.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=list(callbacks),
    )
    return model


def copy_model(model):
    """An independent copy with the same weights, so a recipe never alters the teacher."""
    from variants._tf import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone
