"""The one place TensorFlow is imported.

TFMOT works only with the legacy Keras (`tf_keras`), which TensorFlow picks when
TF_USE_LEGACY_KERAS=1 is set before it loads; it runs on one thread. Import `tf` and
`keras` from here, lazily (inside functions), so that runs served from the cache never
load TensorFlow.
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
# One thread: float reductions add up in one order, so a model trains to the same bytes in
# any process (with 2 threads a Conv1D model trains to other weights than with 1), and
# `--workers` processes do not oversubscribe the cores.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from variants.convert import quiet_native_stderr

with quiet_native_stderr():  # absl/oneDNN/CUDA start-up chatter
    import tensorflow as tf
    import tf_keras as keras

tf.get_logger().setLevel("ERROR")

__all__ = ["keras", "tf"]
