"""How ``ganzoo translate`` maps images with a trained run, by what its variant declares.

* "multi_domain" in ``supports`` (StarGAN): every image goes to the domain ``--domain K``
  (required; 0 .. N-1, the run's domain names in the error);
* "paired" in ``supports`` (pix2pix and the other :class:`ganzoo.paired.PairedVariant` s):
  ``predict`` on the image, read at the data's INPUT size and channels;
* otherwise (CycleGAN): ``translate(images, direction)``.

Only these capabilities are read (class attributes), never the variant's name.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from .errors import GanzooError


def domain_list(info: Any) -> str:
    """``0 (name0), 1 (name1), ...`` for an error message."""
    names = list(info.class_names) or [str(k) for k in range(int(info.num_classes or 0))]
    return ", ".join(f"{k} ({n})" for k, n in enumerate(names))


def check_domain(info: Any, domain: int | None, name: str) -> int:
    """``domain`` checked against the run's domains; the list of them when it is missing or wrong."""
    k = int(info.num_classes or 0)
    if domain is None:
        raise GanzooError(f"variant '{name}' translates into one of {k} domains: give --domain K, one "
                          f"of {domain_list(info)}")
    if not 0 <= domain < k:
        raise GanzooError(f"--domain {domain}: this run's domains are {domain_list(info)}")
    return domain


def translator(variant: Any, info: Any, name: str, direction: str, domain: int | None
               ) -> tuple[Callable[[torch.Tensor], torch.Tensor], int, int, str]:
    """(images -> outputs, input channels, input side, description) for a trained ``variant``."""
    if "multi_domain" in variant.supports:
        target = check_domain(info, domain, name)

        def to_domain(images: torch.Tensor) -> torch.Tensor:
            labels = torch.full((images.shape[0],), target, dtype=torch.long)
            return variant.predict({"x": images, "target_labels": labels})

        names = list(info.class_names)
        return to_domain, info.channels, info.image_size, \
            f"domain {target}" + (f" ({names[target]})" if target < len(names) else "")
    if domain is not None:
        raise GanzooError(f"--domain applies to multi-domain runs (e.g. stargan); variant '{name}' "
                          f"has no domains, leave --domain out")
    if "paired" in variant.supports:
        from .paired import input_shape

        c, h, _ = input_shape(info)
        return (lambda images: variant.predict({"x": images})), c, h, "input -> output"
    return (lambda images: variant.translate(images, direction)), info.channels, info.image_size, direction
