"""evaluate_generative: one extraction pass, every metric, details, and the reference cache."""

import dataclasses

import pytest
import torch
from torch import nn

import labcore
from labcore.features import FeatureExtractor
from labcore.metrics import (
    BUILTIN_METRICS,
    FID,
    PRDC,
    EvaluateConfig,
    GaussianStats,
    evaluate_generative,
    frechet_distance,
    one_nn_accuracy,
    wasserstein1,
)
from labcore.metrics.generative import REAL_SUBSET_SEED, sample_generator
from labcore.schema import SchemaError, build


@dataclasses.dataclass
class PoolConfig:
    scale: float = 1.0


class PoolFeatures(FeatureExtractor):
    """A toy extractor: 2x2 average pools as features (16), a fixed linear map as logits (5)."""

    name = "pool"
    Config = PoolConfig

    def __init__(self, config):
        super().__init__(config)
        self.head = nn.Linear(16, 5)
        with torch.no_grad():
            self.head.weight.copy_(torch.linspace(-1, 1, 80).view(5, 16))
            self.head.bias.zero_()

    def extract(self, images, value_range=(0.0, 1.0)):
        x = (images - value_range[0]) / (value_range[1] - value_range[0])
        features = nn.functional.avg_pool2d(x, 2).flatten(1) * self.config.scale
        return {"features": features, "logits": self.head(features)}


class Registry:
    classes = {
        "metric": {cls.name: cls for cls in BUILTIN_METRICS},
        "feature_extractor": {"pool": PoolFeatures},
    }

    def get(self, kind, name):
        return self.classes[kind][name]


class Blobs(labcore.Model):
    """Samples: noise around a fixed image, in the data's range [-1, 1]."""

    name = "blobs"

    def __init__(self, offset=0.3):
        super().__init__(None, {})
        self.register_buffer("center", torch.full((1, 1, 8, 8), offset))

    def sample(self, n, *, generator, condition=None):
        noise = torch.randn(n, 1, 8, 8, generator=generator, device=self.center.device)
        return (self.center + 0.3 * noise).clamp(-1, 1)


def bundle():
    g = torch.Generator().manual_seed(0)
    test = (0.3 * torch.randn(300, 1, 8, 8, generator=g)).clamp(-1, 1)
    train = torch.zeros(4, 1, 8, 8)
    return labcore.DataBundle(
        splits={"train": labcore.TensorSplit(x=train), "test": labcore.TensorSplit(x=test)},
        info={"shape": (1, 8, 8), "value_range": (-1.0, 1.0)},
    )


def config(tmp_path, **changes):
    section = {
        "metrics": ["fid", "kid", "is", "1nn", "prdc", "mmd", "mode_score", "wasserstein"],
        "num_samples": 120,
        "batch_size": 50,
        "chunk_size": 64,
        "kid_subsets": 3,
        "kid_subset_size": 40,
        "is_splits": 2,
        "knn_k": 3,
        "extractor": {"name": "pool"},
        "cache_dir": str(tmp_path),
        **changes,
    }
    return build(EvaluateConfig, section, "evaluate")


def test_metrics_are_those_of_the_extracted_features(tmp_path):
    data, model, cfg = bundle(), Blobs(), config(tmp_path)
    metrics, details = evaluate_generative(model, data, cfg, "cpu", registry=Registry())
    assert set(metrics) == {"fid", "kid", "kid_std", "is", "is_std", "1nn", "1nn_real",
                            "1nn_fake", "precision", "recall", "density", "coverage", "mmd2",
                            "mode_score", "wasserstein"}
    extractor = PoolFeatures(PoolConfig())
    order = torch.randperm(300, generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))
    real_images = data.split("test")["x"][order[:120].sort().values]
    real = extractor.extract(real_images, (-1.0, 1.0))["features"]
    fake_images = torch.cat([model.sample(50, generator=sample_generator(cfg.seed, 0, "cpu")),
                             model.sample(50, generator=sample_generator(cfg.seed, 1, "cpu")),
                             model.sample(20, generator=sample_generator(cfg.seed, 2, "cpu"))])
    fake = extractor.extract(fake_images, (-1.0, 1.0))["features"]
    expected_fid = frechet_distance(GaussianStats.from_features(real),
                                    GaussianStats.from_features(fake))
    assert metrics["fid"] == pytest.approx(expected_fid, rel=1e-9)
    assert metrics["1nn"] == one_nn_accuracy(real, fake)["1nn"]
    assert metrics["wasserstein"] == pytest.approx(wasserstein1(real, fake), rel=1e-12)
    assert set(metrics) <= set(details["higher_is_better"])
    assert details["higher_is_better"]["fid"] is False
    assert details["extractor"]["name"] == "pool"
    assert details["extractor"]["weights_sha256"] == extractor.weights_sha256
    assert details["num_real"] == 120 and details["num_generated"] == 120
    assert details["metrics"]["kid"]["options"]["kid_subsets"] == 3
    assert details["metrics"]["prdc"]["options"]["knn_k"] == 3
    assert details["reference"]["reused"] is False
    assert model.training  # restored after sampling in eval mode


def test_reference_statistics_are_reused_and_never_stale(tmp_path):
    data, model = bundle(), Blobs()
    first, d1 = evaluate_generative(model, data, config(tmp_path), "cpu", registry=Registry())
    again, d2 = evaluate_generative(model, data, config(tmp_path), "cpu", registry=Registry())
    assert d2["reference"]["reused"] is True and again == first
    assert d2["reference"]["cache"] == d1["reference"]["cache"]
    scaled = config(tmp_path, extractor={"name": "pool", "scale": 2.0})
    _, d3 = evaluate_generative(model, data, scaled, "cpu", registry=Registry())
    assert d3["reference"]["reused"] is False
    assert d3["reference"]["cache"] != d1["reference"]["cache"]
    _, d4 = evaluate_generative(model, data, config(tmp_path, num_real=200), "cpu",
                                registry=Registry())
    assert d4["reference"]["reused"] is False and d4["num_real"] == 200
    data.splits["test"].tensors["x"] = data.split("test")["x"] * 0.5
    _, d5 = evaluate_generative(model, data, config(tmp_path), "cpu", registry=Registry())
    assert d5["reference"]["reused"] is False


def test_a_changed_state_layout_never_reuses_the_cached_real_side(tmp_path):
    data, model = bundle(), Blobs()
    cfg = config(tmp_path, metrics=["fid", "prdc"])
    first, _ = evaluate_generative(model, data, cfg, "cpu", registry=Registry())
    reused = []

    class NewFID(FID):
        state_version = 2

        def load_reference_state(self, state):
            reused.append(self.name)
            super().load_reference_state(state)

    class MorePRDC(PRDC):
        def __init__(self, config=None):
            super().__init__(config)
            self.add_state("real_count", torch.tensor(0), "sum")

        def load_reference_state(self, state):
            reused.append(self.name)
            super().load_reference_state(state)

    registry = Registry()
    registry.classes = {**Registry.classes, "metric": {"fid": NewFID, "prdc": MorePRDC}}
    again, details = evaluate_generative(model, data, cfg, "cpu", registry=registry)
    assert details["reference"]["reused"] is False and reused == []
    assert again == pytest.approx(first, rel=1e-12)
    _, details = evaluate_generative(model, data, cfg, "cpu", registry=registry)
    assert details["reference"]["reused"] is True and reused == ["fid", "prdc"]


def test_config_is_validated():
    with pytest.raises(SchemaError, match="knn_k must be at least 1"):
        build(EvaluateConfig, {"knn_k": 0}, "evaluate")
    with pytest.raises(SchemaError, match=r"\[evaluate.extractor\]"):
        build(EvaluateConfig, {"metrics": ["fid"]}, "evaluate")
    with pytest.raises(SchemaError, match="did you mean evaluate.num_samples"):
        build(EvaluateConfig, {"num_sample": 5}, "evaluate")
    assert build(EvaluateConfig, {}, "evaluate").metrics == []


# -- the noise floor --------------------------------------------------------------------------


def by_hand(cfg, real, other):
    """Each metric of ``cfg.metrics``, with the options ``cfg`` gives it, between two sets of
    features fed directly."""
    values = {}
    for name in cfg.metrics:
        cls = Registry.classes["metric"][name]
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        metric = cls(build(cls.Config, {k: getattr(cfg, k) for k in fields}, "evaluate"))
        metric.update(real, real=True)
        metric.update(other, real=False)
        values.update(metric.compute())
    return values


def test_noise_floor_is_the_metric_between_two_disjoint_real_sets(tmp_path):
    data, model = bundle(), Blobs()
    cfg = config(tmp_path, metrics=["fid", "kid", "1nn", "prdc", "wasserstein", "mmd"])
    metrics, details = evaluate_generative(model, data, cfg, "cpu", registry=Registry())
    floor = details["noise_floor"]
    assert floor["halves"] is False and (floor["num_real"], floor["num_other"]) == (120, 120)
    order = torch.randperm(300, generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))
    extractor = PoolFeatures(PoolConfig())
    images = data.split("test")["x"]
    first = extractor.extract(images[order[:120].sort().values], (-1.0, 1.0))["features"]
    second = extractor.extract(images[order[120:240].sort().values], (-1.0, 1.0))["features"]
    assert not set(order[:120].tolist()) & set(order[120:240].tolist())
    expected = by_hand(cfg, first, second)
    assert set(floor["values"]) == set(metrics)  # every output of a two-sample metric
    for key, value in expected.items():
        assert floor["values"][key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert floor["values"]["fid"] < metrics["fid"]  # the model's samples are further away
    again, details = evaluate_generative(model, data, cfg, "cpu", registry=Registry())
    assert details["noise_floor"]["reused"] is True and again == metrics
    assert details["noise_floor"]["values"] == floor["values"]


def test_a_small_split_gives_the_floor_of_two_halves_and_says_so(tmp_path):
    data, model = bundle(), Blobs()
    cfg = config(tmp_path, metrics=["fid", "1nn"], num_samples=200)  # 2 x 200 > 300 images
    _, details = evaluate_generative(model, data, cfg, "cpu", registry=Registry())
    floor = details["noise_floor"]
    assert floor["halves"] is True and (floor["num_real"], floor["num_other"]) == (100, 100)
    order = torch.randperm(300, generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))
    reference = data.split("test")["x"][order[:200].sort().values]
    halves = torch.randperm(200, generator=torch.Generator().manual_seed(0))
    features = PoolFeatures(PoolConfig()).extract(reference, (-1.0, 1.0))["features"]
    first, second = features[halves[:100].sort().values], features[halves[100:].sort().values]
    expected = by_hand(cfg, first, second)
    for key, value in expected.items():
        assert floor["values"][key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    # k = 150 suits 200 samples per side, not halves of 100: that floor is left out, saying why
    cfg = config(tmp_path, metrics=["fid", "prdc"], num_samples=200, knn_k=150)
    metrics, details = evaluate_generative(model, data, cfg, "cpu", registry=Registry())
    assert "precision" in metrics and set(details["noise_floor"]["values"]) == {"fid"}
    assert "prdc" in details["noise_floor"]["unmeasured"][0]


def test_a_small_split_takes_the_floor_second_set_from_another_split(tmp_path):
    g = torch.Generator().manual_seed(1)
    test = (0.3 * torch.randn(150, 1, 8, 8, generator=g)).clamp(-1, 1)
    train = (0.3 * torch.randn(400, 1, 8, 8, generator=g)).clamp(-1, 1)
    data = labcore.DataBundle(
        splits={"train": labcore.TensorSplit(x=train), "test": labcore.TensorSplit(x=test)},
        info={"shape": (1, 8, 8), "value_range": (-1.0, 1.0)},
    )
    cfg = config(tmp_path, metrics=["fid", "1nn"], num_samples=150)  # the whole test split
    _, details = evaluate_generative(Blobs(), data, cfg, "cpu", registry=Registry())
    floor = details["noise_floor"]
    assert floor["halves"] is False and floor["split"] == "train"
    assert (floor["num_real"], floor["num_other"]) == (150, 150)
    order = torch.randperm(400, generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))
    extractor = PoolFeatures(PoolConfig())
    first = extractor.extract(test, (-1.0, 1.0))["features"]
    second = extractor.extract(train[order[:150].sort().values], (-1.0, 1.0))["features"]
    for key, value in by_hand(cfg, first, second).items():
        assert floor["values"][key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_the_noise_floor_can_be_turned_off_and_one_sample_metrics_have_none(tmp_path):
    data, model = bundle(), Blobs()
    _, details = evaluate_generative(model, data, config(tmp_path, noise_floor=False), "cpu",
                                     registry=Registry())
    assert "noise_floor" not in details
    _, details = evaluate_generative(model, data, config(tmp_path, metrics=["is"]), "cpu",
                                     registry=Registry())
    assert "noise_floor" not in details
