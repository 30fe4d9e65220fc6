"""The FID Inception-v3: key-compatible with pt_inception-2015-12-05, shapes, loading, errors."""

import pytest
import torch
from torch import nn

from labcore.features import FIDInceptionV3, InceptionV3FID, file_sha256


def conv(name, out, cin, kh, kw=None):
    return (name, out, cin, kh, kw if kw is not None else kh)


def published_convolutions():
    """Every convolution of the published file: (module, out, in, kh, kw).

    The layout of torchvision's Inception3 (Szegedy et al., 2016, table 1 and figures 5-7) as
    ported by pytorch-fid, written out here independently of labcore's implementation.
    """
    convs = [
        conv("Conv2d_1a_3x3", 32, 3, 3), conv("Conv2d_2a_3x3", 32, 32, 3),
        conv("Conv2d_2b_3x3", 64, 32, 3), conv("Conv2d_3b_1x1", 80, 64, 1),
        conv("Conv2d_4a_3x3", 192, 80, 3),
    ]
    for name, cin, pool in (("Mixed_5b", 192, 32), ("Mixed_5c", 256, 64), ("Mixed_5d", 288, 64)):
        convs += [
            conv(f"{name}.branch1x1", 64, cin, 1), conv(f"{name}.branch5x5_1", 48, cin, 1),
            conv(f"{name}.branch5x5_2", 64, 48, 5), conv(f"{name}.branch3x3dbl_1", 64, cin, 1),
            conv(f"{name}.branch3x3dbl_2", 96, 64, 3), conv(f"{name}.branch3x3dbl_3", 96, 96, 3),
            conv(f"{name}.branch_pool", pool, cin, 1),
        ]
    convs += [
        conv("Mixed_6a.branch3x3", 384, 288, 3), conv("Mixed_6a.branch3x3dbl_1", 64, 288, 1),
        conv("Mixed_6a.branch3x3dbl_2", 96, 64, 3), conv("Mixed_6a.branch3x3dbl_3", 96, 96, 3),
    ]
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        convs += [
            conv(f"{name}.branch1x1", 192, 768, 1), conv(f"{name}.branch7x7_1", c7, 768, 1),
            conv(f"{name}.branch7x7_2", c7, c7, 1, 7), conv(f"{name}.branch7x7_3", 192, c7, 7, 1),
            conv(f"{name}.branch7x7dbl_1", c7, 768, 1),
            conv(f"{name}.branch7x7dbl_2", c7, c7, 7, 1),
            conv(f"{name}.branch7x7dbl_3", c7, c7, 1, 7),
            conv(f"{name}.branch7x7dbl_4", c7, c7, 7, 1),
            conv(f"{name}.branch7x7dbl_5", 192, c7, 1, 7),
            conv(f"{name}.branch_pool", 192, 768, 1),
        ]
    convs += [
        conv("Mixed_7a.branch3x3_1", 192, 768, 1), conv("Mixed_7a.branch3x3_2", 320, 192, 3),
        conv("Mixed_7a.branch7x7x3_1", 192, 768, 1), conv("Mixed_7a.branch7x7x3_2", 192, 192, 1, 7),
        conv("Mixed_7a.branch7x7x3_3", 192, 192, 7, 1), conv("Mixed_7a.branch7x7x3_4", 192, 192, 3),
    ]
    for name, cin in (("Mixed_7b", 1280), ("Mixed_7c", 2048)):
        convs += [
            conv(f"{name}.branch1x1", 320, cin, 1), conv(f"{name}.branch3x3_1", 384, cin, 1),
            conv(f"{name}.branch3x3_2a", 384, 384, 1, 3),
            conv(f"{name}.branch3x3_2b", 384, 384, 3, 1),
            conv(f"{name}.branch3x3dbl_1", 448, cin, 1),
            conv(f"{name}.branch3x3dbl_2", 384, 448, 3),
            conv(f"{name}.branch3x3dbl_3a", 384, 384, 1, 3),
            conv(f"{name}.branch3x3dbl_3b", 384, 384, 3, 1),
            conv(f"{name}.branch_pool", 192, cin, 1),
        ]
    return convs


def published_layout():
    layout = {}
    for name, out, cin, kh, kw in published_convolutions():
        layout[f"{name}.conv.weight"] = (out, cin, kh, kw)
        for buffer in ("weight", "bias", "running_mean", "running_var"):
            layout[f"{name}.bn.{buffer}"] = (out,)
    layout["fc.weight"] = (1008, 2048)
    layout["fc.bias"] = (1008,)
    return layout


def scaled_random_net():
    """Random weights that keep activations away from (slow) denormal numbers."""
    net = FIDInceptionV3()
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return net.eval()


def test_state_dict_matches_the_published_layout():
    state = FIDInceptionV3().state_dict()
    got = {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}
    assert len(published_convolutions()) == 94
    assert got == published_layout()
    # torchvision's Inception-v3 has 27,161,264 parameters; without its auxiliary head
    # (3,326,696) and with 1,008 instead of 1,000 classes, the FID network has 23,850,960.
    assert sum(p.numel() for p in FIDInceptionV3().parameters()) == 23_850_960


def test_weights_load_from_a_local_file_and_images_give_pool_features_and_logits(tmp_path):
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    net = scaled_random_net()
    torch.save({k: v for k, v in net.state_dict().items() if "num_batches" not in k}, path)
    extractor = InceptionV3FID(InceptionV3FID.Config(weights=str(path)))
    assert extractor.weights_sha256 == file_sha256(str(path))
    for key, value in net.state_dict().items():
        if "num_batches" not in key:
            assert torch.equal(extractor.net.state_dict()[key], value)
    digit = torch.rand(1, 1, 28, 28) * 2 - 1
    out = extractor.extract(digit, value_range=(-1.0, 1.0))
    assert out["features"].shape == (1, 2048) and out["logits"].shape == (1, 1008)
    unbiased = out["features"] @ extractor.net.fc.weight.T
    torch.testing.assert_close(out["logits"], unbiased)
    assert bool(torch.isfinite(out["features"]).all()) and bool((out["features"] >= 0).all())


def test_missing_weights_name_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv("LABCORE_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(FileNotFoundError) as error:
        InceptionV3FID(InceptionV3FID.Config())
    message = str(error.value)
    assert "pt_inception-2015-12-05-6726825d.pth" in message
    assert "LABCORE_INCEPTION_WEIGHTS" in message and "[evaluate.extractor] weights" in message
    monkeypatch.setenv("LABCORE_INCEPTION_WEIGHTS", str(tmp_path / "nowhere.pth"))
    with pytest.raises(FileNotFoundError, match="nowhere.pth does not exist"):
        InceptionV3FID(InceptionV3FID.Config())


def test_a_wrong_file_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(ValueError, match="missing keys"):
        InceptionV3FID(InceptionV3FID.Config(weights=str(path)))


def test_inputs_are_resized_bilinearly_to_299_and_scaled_to_minus_one_one(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save(FIDInceptionV3().state_dict(), path)
    extractor = InceptionV3FID(InceptionV3FID.Config(weights=str(path), logits_bias=True))
    seen = []

    def spy(x, logits_bias):
        seen.append((x, logits_bias))
        return torch.zeros(x.shape[0], 2048), torch.zeros(x.shape[0], 1008)

    extractor.net.forward = spy
    images = torch.rand(3, 1, 28, 28)
    extractor.extract(images * 255, value_range=(0.0, 255.0))
    x, bias = seen[0]
    expected = torch.nn.functional.interpolate(
        images.expand(-1, 3, -1, -1), size=(299, 299), mode="bilinear", align_corners=False
    )
    assert bias is True and x.shape == (3, 3, 299, 299)
    torch.testing.assert_close(x, 2 * expected - 1, atol=1e-5, rtol=0)
