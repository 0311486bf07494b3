"""The ``dcgan_diffaug`` variant: DCGAN whose discriminator sees DiffAugment'ed inputs.

DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training")
applies one random differentiable augmentation to real and generated images alike, in both the D
and the G update, so a discriminator trained on little data cannot memorise it and G is not
taught to produce augmented-looking images. The networks, initialisation and optimiser are
DCGAN's (Radford et al. 2016: N(0, 0.02) init, Adam 2e-4, betas 0.5/0.999).

Built from ganzoo's public API only: it subclasses the built-in :class:`ganzoo.variants.DCGAN`
(networks, initialisation and optimisers shared, nothing copied); other plugins can augment their
own variants with :func:`ganzoo_diffaugment.wrap.with_diffaugment`.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.variants import DCGAN

from .wrap import with_diffaugment

#: ganzoo plugin-API versions this plugin was written for (checked when ganzoo loads it).
GANZOO_API = ">=2.0,<3"

DCGANDiffAugment = with_diffaugment(
    DCGAN, doc="DCGAN with DiffAugment (Zhao et al. 2020): colour/translation/cutout on D's inputs.")


@hookimpl
def register_variants(register) -> None:
    register("dcgan_diffaug", DCGANDiffAugment)
