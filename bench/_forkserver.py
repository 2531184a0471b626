"""What local workers fork from (`bench.executor`): TensorFlow and TFMOT imported once,
then every object frozen out of the garbage collector's reach, so that a collection in a
worker never writes to (and so copies) the pages it shares with the server."""

import gc
import importlib

import variants._tf  # noqa: F401  (first: it sets TF_USE_LEGACY_KERAS before TF loads)
from bench.lifetime import die_with_parent

importlib.import_module("tensorflow_model_optimization")
gc.freeze()
die_with_parent()  # the server goes when the run goes, however it goes
