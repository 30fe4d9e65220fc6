"""The classifier plugin: image classifiers trained with cross-entropy.

Models (components): ``mlp``, ``lenet5`` (LeCun et al. 1998), ``resnet`` (He et al. 2016),
``vgg`` (Simonyan and Zisserman 2015), ``mobilenet`` (Howard et al. 2017), ``alexnet``
(Krizhevsky et al. 2012), ``nin`` (Lin et al. 2014), ``googlenet`` (Szegedy et al. 2015),
``densenet`` (Huang et al. 2017), ``resnext`` (Xie et al. 2017) and ``wide-resnet`` (Zagoruyko
and Komodakis 2016), all sharing the
hyperparameters ``init``, ``norm``, ``norm_groups`` and ``dropout``. Each maps images
``(N, C, H, W)`` to logits ``(N, K)`` and exposes ``features(x)`` ``(N, F)``, the penultimate layer
that the domain-classifier feature extractor of the generative metrics reads. Runs of these models
get a confusion matrix in their report.
"""

from labcore_builtins.classifier.base import Classifier, ClassifierConfig
from labcore_builtins.classifier.confusion import confusion_matrix, plot_confusion_matrix
from labcore_builtins.classifier.lenet import LeNet5
from labcore_builtins.classifier.mlp import MLP
from labcore_builtins.classifier.mobilenet import MobileNet
from labcore_builtins.classifier.resnet import ResNet
from labcore_builtins.classifier.vgg import VGG

__all__ = [
    "MLP",
    "VGG",
    "Classifier",
    "ClassifierConfig",
    "LeNet5",
    "MobileNet",
    "ResNet",
    "confusion_matrix",
    "plot_confusion_matrix",
]
