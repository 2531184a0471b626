"""Building variants, with a cache keyed by everything that determines the result.

Key = hash(variant name, recipe, parameters, architecture, data config, training
config, code version). A rerun with the same key reads the .tflite from the cache
and never trains or loads TensorFlow.
"""

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import variants
from bench.cache import Cache, code_version, digest
from bench.data.windows import Windows
from bench.external import file_hash
from variants import Variant
from variants.baseline import Arch, TrainConfig, build_model, train
from variants.convert import BREADCRUMBS

if TYPE_CHECKING:
    from bench.pipeline import Scoring


def _hash(obj: Any) -> str:
    return digest(obj)


@dataclass
class BuildContext:
    """What a recipe may use: the arch, the windows, and the trained float model."""

    arch: Arch
    windows: Windows
    train_cfg: TrainConfig
    data_key: dict
    cache: Cache
    source: Path | None = None  # a user's Keras model to start from instead of training
    train_seconds: float = 0.0
    _model: Any = field(default=None, repr=False)
    _derived: dict = field(default_factory=dict, repr=False)

    def key(self, **extra: Any) -> str:
        source = self.source and file_hash(self.source)
        return _hash(
            {
                "arch": asdict(self.arch),
                "window": self.windows.length,
                "source": source,
                "data": self.data_key,
                "train": self.train_cfg.as_dict(),
                "code": code_version(),
                **extra,
            }
        )

    def keras_model(self) -> Any:
        """The trained float baseline: from the cache, else trained now."""
        if self._model is None and self.source is not None:
            from bench.external import load_keras

            self._model = load_keras(self.source)
        if self._model is None:
            from variants._tf import keras

            key = self.key(model="baseline")
            path = self.cache.file(key, "model.keras")
            if path is not None:
                self._model = keras.models.load_model(path, compile=False)
            else:
                start = time.perf_counter()
                self._model = train(
                    self.arch, self.windows.train.x, self.train_cfg, self.windows.channels
                )
                self.train_seconds = time.perf_counter() - start
                self._keep(key)
        return self._model

    def _keep(self, key: str) -> None:
        where = self.cache.path(key, "model.keras")
        if where is not None:
            where.parent.mkdir(parents=True, exist_ok=True)
            tmp = where.with_name(f"tmp-{os.getpid()}.keras")
            self._model.save(tmp)
            self.cache.keep_file(key, "model.keras", tmp)

    def derived(self, transform: Callable[..., Any], **params: Any) -> Any:
        """`transform(ctx, **params)` -> Keras model, made once per context and shared by
        the variants that convert it (e.g. `pruned80` and `pruned80_int8`)."""
        key = (transform.__module__, transform.__qualname__, tuple(sorted(params.items())))
        if key not in self._derived:
            self._derived[key] = transform(self, **params)
        return self._derived[key]


@dataclass(frozen=True)
class Built:
    variant: Variant
    model: bytes
    key: str
    build_seconds: float  # of the build that made the model, even when read from cache
    cached: bool
    note: str = ""  # why a cache entry was not used, when it was there


def cached_entry(model: bytes | None, meta: bytes | None) -> tuple[float | None, str]:
    """(build seconds, "") for a sound cache entry; (None, why) for a damaged one."""
    if model is None and meta is None:
        return None, ""
    try:
        info = json.loads(meta or b"")
        seconds, digest = float(info["build_seconds"]), info["sha256"]
    except (ValueError, KeyError, TypeError):
        return None, "its meta.json is unreadable or from an older edgebench"
    if model is None or hashlib.sha256(model).hexdigest() != digest:
        return None, "its model.tflite is missing or does not match its sha256"
    return seconds, ""


SKIPPED = "not-applicable.txt"  # a cache entry's reason when its recipe does not apply


def _variant_key(variant: Variant, ctx: BuildContext) -> str:
    recipe = f"{variant.recipe.__module__}.{variant.recipe.__qualname__}"
    return ctx.key(
        variant=variant.name, recipe=recipe, params=variant.params, parent=variant.parent
    )


def from_cache(variant: Variant, ctx: BuildContext) -> tuple[Built | None, str]:
    """The cached build, if sound (no TensorFlow needed); else (None, why it was not)."""
    key = _variant_key(variant, ctx)
    model, meta = ctx.cache.read(key, "model.tflite"), ctx.cache.read(key, "meta.json")
    seconds, damaged = cached_entry(model, meta)
    if model is not None and seconds is not None:
        return Built(variant, model, key, seconds, cached=True), ""
    return None, damaged if model is not None and meta is not None else ""  # else said


def cached_outcome(variant: Variant, ctx: BuildContext) -> "Outcome | None":
    """What the cache already knows of this build, without TensorFlow."""
    built, _ = from_cache(variant, ctx)
    if built is not None:
        return Outcome.of(built)
    skipped = ctx.cache.read(_variant_key(variant, ctx), SKIPPED)
    return None if skipped is None else Outcome(variant.name, skipped=skipped.decode())


def build(variant: Variant, ctx: BuildContext) -> Built:
    found, damaged = from_cache(variant, ctx)
    if found is not None:
        return found
    key = _variant_key(variant, ctx)
    start, trained = time.perf_counter(), ctx.train_seconds
    model = variant.recipe(ctx, **variant.params)
    seconds = time.perf_counter() - start - (ctx.train_seconds - trained)  # training apart
    ctx.cache.write(key, "model.tflite", model)
    info = {"build_seconds": seconds, "sha256": hashlib.sha256(model).hexdigest()}
    ctx.cache.write(key, "meta.json", json.dumps(info).encode())
    note = f"cache entry {key} rebuilt: {damaged}" if damaged else ""
    return Built(variant, model, key, seconds, cached=False, note=note)


@dataclass(frozen=True)
class Outcome:
    """What building one variant came to, as plain data: it crosses process boundaries."""

    name: str
    model: bytes | None = None
    key: str = ""
    build_seconds: float = 0.0
    cached: bool = False
    note: str = ""
    skipped: str | None = None  # why the recipe does not apply (NotApplicable)
    error: tuple[str, str] | None = None  # (exception type, message) of a failed build

    @classmethod
    def of(cls, built: Built) -> "Outcome":
        return cls(
            built.variant.name,
            built.model,
            built.key,
            built.build_seconds,
            built.cached,
            built.note,
        )


def outcome(variant: Variant, ctx: BuildContext) -> Outcome:
    """`build`, its failure kept as a result, never raised; a recipe that does not apply
    is cached as such, so a warm run need not ask again."""
    try:
        return Outcome.of(build(variant, ctx))
    except variants.NotApplicable as err:
        ctx.cache.write(_variant_key(variant, ctx), SKIPPED, str(err).encode())
        return Outcome(variant.name, skipped=str(err))
    except Exception as err:  # the variant's failure is a result, not a crash
        return Outcome(variant.name, error=(type(err).__name__, str(err).strip()[:500]))


@dataclass(frozen=True)
class Job:
    """Everything a worker process needs to rebuild a `BuildContext` and build `names`."""

    arch: Arch
    windows: Windows
    train_cfg: TrainConfig
    data_key: dict
    cache_root: Path
    source: Path | None
    names: tuple[str, ...] = ()
    scoring: "Scoring | None" = None  # detection's settings: measure what was built, too
    detection_only: bool = False  # of what was built, measure detection alone

    @classmethod
    def of(
        cls,
        ctx: BuildContext,
        cache_root: Path,
        names: tuple[str, ...] = (),
        scoring: "Scoring | None" = None,
        detection_only: bool = False,
    ) -> "Job":
        return cls(
            ctx.arch,
            ctx.windows,
            ctx.train_cfg,
            ctx.data_key,
            cache_root,
            ctx.source,
            names,
            scoring,
            detection_only,
        )

    def context(self) -> BuildContext:
        """A fresh context in a fresh Keras session: layer names, and so the built
        flatbuffers, do not depend on what the worker built before."""
        from variants._tf import keras

        keras.backend.clear_session()
        return BuildContext(
            self.arch,
            self.windows,
            self.train_cfg,
            self.data_key,
            Cache(self.cache_root),
            self.source,
        )


def train_job(job: Job) -> float | Outcome:
    """Train (or load) the float model into the cache; its training seconds."""
    ctx = job.context()
    try:
        ctx.keras_model()
    except Exception as err:
        return Outcome("float32", error=(type(err).__name__, str(err).strip()[:500]))
    return ctx.train_seconds


def build_job(job: Job) -> list[Outcome]:
    """Build `job.names`; with detection's settings, also put each model's deterministic
    measurements (`bench.pipeline.prefetch`), or its detection alone, into the cache."""
    ctx = job.context()
    found = [outcome(variants.REGISTRY[name], ctx) for name in job.names]
    if job.scoring is not None:
        from bench.pipeline import prefetch

        for one in found:
            if one.model is not None:
                prefetch(one.model, job.windows, job.scoring, ctx.cache, job.detection_only)
    return found


def breadcrumbs(cache_root: Path) -> Path:
    """Where workers leave what the converter is doing (`variants.convert.breadcrumb`)."""
    return cache_root / "breadcrumbs"


def work(job: "Job | dict") -> Any:
    """What an executor runs: a `Job` without names trains (`train_job`), one with names
    builds (`build_job`); {"spec", "cache"} puts a reference model into the cache."""
    if isinstance(job, Job):
        os.environ[BREADCRUMBS] = str(breadcrumbs(job.cache_root))
        return build_job(job) if job.names else train_job(job)
    from bench.pipeline import arena_and_instructions

    cache = Cache(job["cache"])
    arena_and_instructions(reference_model(job["spec"], cache), cache)
    return None


def groups(names: tuple[str, ...]) -> list[tuple[str, ...]]:
    """`names` in build groups: a variant with the variant it derives from (below
    float32), so `pruned80_int8` reuses `pruned80`'s fine-tuned model in the same task."""
    found: dict[str, list[str]] = {}
    for name in names:
        root = name
        while (parent := variants.REGISTRY[root].parent) not in (None, "float32"):
            root = parent
        found.setdefault(root, []).append(name)
    return [tuple(group) for group in found.values()]


def trains(group: tuple[str, ...]) -> bool:
    """Whether building `group` trains a model: such a group takes seconds, a conversion
    a fraction of one, so an executor is handed the training groups first."""
    return any(variants.REGISTRY[name].trains for name in group)


def reference_key(spec: dict) -> str:
    return _hash({"reference_model": spec, "code": code_version()})


def reference_model(spec: dict, cache: Cache) -> bytes:
    """A model that the catalog's published measurements ran, int8, untrained (its work is
    what counts): MLPerf Tiny's ad01 dense autoencoder (`layers`) or its keyword-spotting
    DS-CNN (`ds_cnn`: input, filters, blocks, classes)."""
    key = reference_key(spec)
    model = cache.read(key, "model.tflite")
    if model is None:
        import numpy as np

        from variants._tf import keras
        from variants.convert import Conversion, to_tflite

        keras.utils.set_random_seed(0)  # the same weights, whatever ran before
        keras_model = _ds_cnn(**spec["ds_cnn"]) if "ds_cnn" in spec else _dense_ae(spec["layers"])
        shape = keras_model.input_shape[1:]
        sample = np.random.default_rng(0).random((64, *shape), dtype=np.float32)
        model = to_tflite(keras_model, Conversion(representative=sample, int8_io=True))
        cache.write(key, "model.tflite", model)
    return model


def _dense_ae(layers: list[int]) -> Any:
    arch = Arch(
        "calibration",  # in the flatbuffer's names: kept, the reference models byte for byte
        layers[0],
        tuple(layers[1 : len(layers) // 2 + 1]),
        "linear",
        "reference model",
    )
    return build_model(arch, layers[0])


def _ds_cnn(input: list[int], filters: int, blocks: int, classes: int) -> Any:
    """MLPerf Tiny's KWS reference: conv 10x4 /2, then depthwise 3x3 + pointwise 1x1
    blocks (batch norm and ReLU after each), average pooling, dense softmax."""
    from variants._tf import keras

    layers = keras.layers
    x = inputs = layers.Input(tuple(input))
    x = layers.Conv2D(filters, (10, 4), strides=(2, 2), padding="same")(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for _ in range(blocks):
        x = layers.DepthwiseConv2D((3, 3), padding="same")(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.Conv2D(filters, (1, 1), padding="same")(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]))(x)
    x = layers.Dense(classes, activation="softmax")(layers.Flatten()(x))
    return keras.Model(inputs, x)
