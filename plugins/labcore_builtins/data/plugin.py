"""Registers the data plugin's datasets with labcore."""

from __future__ import annotations

import labcore
from labcore_builtins.data import Digits, FashionMnist, ImageFolder, Mnist
from labcore_builtins.data.celeba import Celeba
from labcore_builtins.data.cifar import Cifar10, Cifar100
from labcore_builtins.data.stl10 import Stl10


@labcore.hookimpl
def labcore_datasets() -> list[type]:
    return [Digits, Mnist, FashionMnist, ImageFolder, Cifar10, Cifar100, Stl10, Celeba]
