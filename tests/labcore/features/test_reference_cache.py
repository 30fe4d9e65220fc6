"""The reference statistics cache: keyed content, reuse, and never stale content."""

import torch

from labcore.features import ReferenceCache, tensor_sha256
from labcore.features import cache as cache_module


def test_saved_content_comes_back_for_the_same_key_only(tmp_path):
    cache = ReferenceCache(tmp_path)
    key = {"dataset_sha256": "abc", "split": "test", "weights_sha256": "w1"}
    features = torch.randn(10, 3)
    path = cache.save(key, {"outputs": {"features": features}, "metrics": {"fid:1": {"n": 10}}})
    assert path.parent == tmp_path and path.is_file()
    cache_module._memory.clear()
    loaded = cache.load(dict(key))
    assert torch.equal(loaded["outputs"]["features"], features)
    assert loaded["metrics"] == {"fid:1": {"n": 10}}
    for changed in ({"weights_sha256": "w2"}, {"split": "val"}, {"dataset_sha256": "abd"}):
        assert cache.load({**key, **changed}) is None


def test_a_file_holding_another_key_is_not_reused(tmp_path):
    cache = ReferenceCache(tmp_path)
    key, other = {"dataset_sha256": "a"}, {"dataset_sha256": "b"}
    cache.save(other, {"x": 1})
    cache.path(other).rename(cache.path(key))  # a stale or colliding file under key's name
    cache_module._memory.clear()
    assert cache.load(key) is None


def test_content_remembered_in_memory_stays_with_its_file(tmp_path):
    key = {"dataset_sha256": "a"}
    first = ReferenceCache(tmp_path / "first")
    first.save(key, {"x": 1})
    assert first.load(key) == {"x": 1}  # now remembered
    assert ReferenceCache(tmp_path / "second").load(key) is None
    first.path(key).unlink()
    assert first.load(key) is None


def test_shared_tensors_are_stored_once(tmp_path):
    cache = ReferenceCache(tmp_path)
    features = torch.randn(1000, 50)
    cache.save({"k": 1}, {"outputs": features, "metric": [features.detach()]})
    size = cache.path({"k": 1}).stat().st_size
    assert size < 1.5 * features.numel() * 4


def test_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LABCORE_CACHE_DIR", str(tmp_path))
    assert ReferenceCache().root == tmp_path / "reference"


def test_tensor_hash_sees_values_dtype_and_shape():
    x = torch.arange(6.0)
    assert tensor_sha256(x) == tensor_sha256(x.clone())
    assert tensor_sha256(x) != tensor_sha256(x.double())
    assert tensor_sha256(x) != tensor_sha256(x.view(2, 3))
    assert tensor_sha256(x) != tensor_sha256(x + 1e-6)
