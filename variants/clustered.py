"""Weight clustering (TFMOT): each layer's weights share `clusters` values, fine-tuned."""

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from variants.baseline import fit, seed_everything, wrap_supported
from variants.registry import F1Target, register_float_and_int8

if TYPE_CHECKING:
    from bench.build import BuildContext

FINE_TUNE_LR = 1e-4


def cluster(ctx: "BuildContext", clusters: int) -> Any:
    import tensorflow_model_optimization as tfmot

    clustering = tfmot.clustering.keras
    cfg, x = ctx.train_cfg, ctx.windows.train.x
    seed_everything(cfg.seed)
    from tensorflow_model_optimization.python.core.clustering.keras.clustering_registry import (
        ClusteringRegistry,
    )

    def wrap(layer: Any) -> Any:
        return clustering.cluster_weights(
            layer,
            number_of_clusters=clusters,
            cluster_centroids_init=clustering.CentroidInitialization.KMEANS_PLUS_PLUS,
        )

    model = wrap_supported(ctx.keras_model(), wrap, ClusteringRegistry.supports)
    fit(model, x, x, replace(cfg, epochs=max(2, cfg.epochs // 3), learning_rate=FINE_TUNE_LR))
    return clustering.strip_clustering(model)


register_float_and_int8(
    "clustered16",
    cluster,
    "weights clustered to 16 values per layer, fine-tuned",
    f1_target=F1Target(max_loss=0.02),
    clusters=16,
)
