"""Registers the file and standard-set data formats (the ``data_formats`` entry point).

The classes live one format family per module; this module only names them, and imports them
when the registry asks (plugin loading, not ``ganzoo --help``).
"""

from __future__ import annotations

from ..hookspecs import Register, hookimpl


@hookimpl
def register_datasets(register: Register) -> None:
    from .cifar import CIFAR10, CIFAR100
    from .cyclegan_folders import UnpairedFolders
    from .folder import ClassFolder, ImageFolder
    from .mnist import MNIST, FashionMNIST
    from .npz import Npz

    register("image_folder", ImageFolder)
    register("class_folder", ClassFolder)
    register("unpaired_folders", UnpairedFolders)
    register("mnist", MNIST)
    register("fashion_mnist", FashionMNIST)
    register("cifar10", CIFAR10)
    register("cifar100", CIFAR100)
    register("npz", Npz)
