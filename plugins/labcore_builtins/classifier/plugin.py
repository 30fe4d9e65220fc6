"""Registers the classifier family: its models, recipes, the shipped LeNet-5 feature extractors
(``lenet5-digits``, ``lenet5-mnist``) and the confusion-matrix report section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import labcore
from labcore.report import Section
from labcore_builtins.classifier.alexnet import AlexNet
from labcore_builtins.classifier.confusion import confusion_section
from labcore_builtins.classifier.densenet import DenseNet
from labcore_builtins.classifier.googlenet import GoogLeNet
from labcore_builtins.classifier.lenet import LeNet5
from labcore_builtins.classifier.mlp import MLP
from labcore_builtins.classifier.mobilenet import MobileNet
from labcore_builtins.classifier.nin import NiN
from labcore_builtins.classifier.reference import EXTRACTORS
from labcore_builtins.classifier.resnet import ResNet
from labcore_builtins.classifier.resnext import ResNeXt
from labcore_builtins.classifier.vgg import VGG
from labcore_builtins.classifier.wide_resnet import WideResNet
from labcore_builtins.recipes import bundled

MODELS = [
    MLP, LeNet5, ResNet, VGG, MobileNet, AlexNet, NiN, GoogLeNet, DenseNet, ResNeXt, WideResNet
]
RECIPES = (
    "alexnet-mnist32",
    "classifier-digits",
    "classifier-mnist",
    "densenet-mnist32",
    "googlenet-mnist32",
    "lenet5-digits",
    "lenet5-mnist",
    "mlp-digits",
    "nin-mnist32",
    "optimizers-digits",
    "resnet-digits",
    "resnext-mnist32",
    "wide-resnet-mnist32",
)


@labcore.hookimpl
def labcore_models() -> list[type]:
    return MODELS


@labcore.hookimpl
def labcore_feature_extractors() -> list[type]:
    return EXTRACTORS


@labcore.hookimpl
def labcore_recipes() -> list[Path]:
    return bundled(*RECIPES)


@labcore.hookimpl
def labcore_report_sections(run: Any) -> list[Section]:
    """A confusion matrix for runs of this plugin's models that have a checkpoint."""
    if run.recipe.get("model", {}).get("name") not in {m.name for m in MODELS}:
        return []
    if not any(run.checkpoints.glob("*.pt")):
        return []
    return [confusion_section(run)]
