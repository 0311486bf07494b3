"""ganzoo's built-in variants: public, documented base classes for plugins to subclass.

Each lives in its own module and registers itself through the ``ganzoo`` entry points, exactly as
a third-party variant does. Importing this package registers nothing; the names are loaded on
first use.

Generation families built on :class:`~ganzoo.adversarial.AdversarialVariant`'s hooks
(``discriminate``, ``discriminator_extra``, ``generator_extra``):

* ``acgan.py``: ACGAN, a conditional G and a D with a class head (class loss on real and fake);
* ``infogan.py``: InfoGAN, categorical and continuous codes, a Q head (optionally reading a changed
  copy), the mutual-information term;
* ``ebgan.py``: EBGAN, an autoencoder D scoring energies, margin loss, pull-away term;
* ``began.py``: BEGAN, EBGAN's networks with the L1 energy and the equilibrium control k_t.

Variants that encode (``encodes``: ``encode`` images to codes, ``reconstruct`` G(E(x)), ``ganzoo
encode``), on the same base with update rules of their own:

* ``bigan.py``: BiGAN/ALI, an encoder E and a D on (image, code) pairs; E and G against D jointly;
* ``aae.py``: AAE, an autoencoder whose codes a D on codes pushes to a prior (Gaussian, or a
  mixture, optionally one component per class).

Image-to-image families on :class:`~ganzoo.paired.PairedVariant` ("paired" data):

* ``pix2pix.py``: Pix2Pix, a U-Net G (dropout as noise), a PatchGAN on (input, output), GAN + 100 L1;
* ``srgan.py``: SRGAN, SRResNet generator (pixel shuffle), VGG-style D, content + adversarial loss;
* ``esrgan.py``: ESRGAN, SRGAN with an RRDB generator (no batch norm) and a relativistic D;
* ``inpaint.py``: Inpaint, a context encoder filling a masked hole, reconstruction + adversarial.

Multi-domain translation ("multi_domain" data):

* ``stargan.py``: StarGAN, one G conditioned on the target domain, a D with source and domain
  heads, WGAN-GP + domain classification + cycle reconstruction.

Imported weights (``ganzoo import``, :mod:`ganzoo.importers`):

* ``stylegan2.py`` also registers ``stylegan2_conditional`` (StyleGAN2-ADA's label embedding and
  projection D); its ``resample: fir`` ... options reproduce official snapshots;
* ``biggan_deep.py``: BigGAN-deep for pytorch-pretrained-biggan weights (sampling only).
"""

from __future__ import annotations

import importlib
from typing import Any

_CLASSES = {
    "VanillaGAN": "vanilla", "DCGAN": "dcgan", "CriticVariant": "wgan", "WGAN": "wgan",
    "WGANGP": "wgan", "ConditionalGAN": "conditional", "CycleGAN": "cyclegan", "VAE": "vae",
    "StyleGAN2": "stylegan2", "StyleGAN2Conditional": "stylegan2",
    "BigGAN": "biggan", "BigGANDeep": "biggan_deep",
    "BiGAN": "bigan", "AAE": "aae", "ACGAN": "acgan", "InfoGAN": "infogan", "EBGAN": "ebgan", "BEGAN": "began",
    "SRGAN": "srgan", "ESRGAN": "esrgan", "Inpaint": "inpaint",
    "Pix2Pix": "pix2pix", "StarGAN": "stargan",
}
__all__ = list(_CLASSES)


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        return getattr(importlib.import_module(f"{__name__}.{_CLASSES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
