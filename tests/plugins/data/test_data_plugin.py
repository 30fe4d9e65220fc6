"""The data plugin loads and registers its datasets under their recipe names."""

from labcore.testing import check_plugin


def test_data_plugin_registers_its_datasets():
    record = check_plugin("data")
    names = sorted(record.components["dataset"])
    assert names == [
        "celeba", "cifar10", "cifar100", "digits", "fashion-mnist", "image-folder", "mnist",
        "stl10",
    ]
