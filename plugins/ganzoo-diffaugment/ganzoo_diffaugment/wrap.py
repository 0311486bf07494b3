"""DiffAugment for any ganzoo :class:`~ganzoo.adversarial.AdversarialVariant`.

DiffAugment needs the *same* random differentiable augmentation T on everything the
discriminator sees, real and fake, in both the discriminator and the generator update. In an
``AdversarialVariant`` every one of those goes through ``self.D``, so wrapping D is all it takes:
:func:`with_diffaugment` makes a subclass whose ``build_networks`` wraps the base class's D in an
:class:`AugmentedDiscriminator`, and whose ``Options`` add the policy fields. Anything else the
base variant does to D (a gradient penalty, weight clipping) sees the augmented inputs too.
"""

from __future__ import annotations

from typing import TypeVar

import torch
from pydantic import Field, field_validator

from ganzoo.adversarial import AdversarialVariant
from ganzoo.interfaces import Discriminator, VariantOptions

from .augment import parse_policy

V = TypeVar("V", bound=type)


class AugmentedDiscriminator(Discriminator):
    """Applies DiffAugment to every input in training mode, then calls the wrapped D.

    In eval mode the input is passed through unchanged (scoring real data, debugging).
    """

    def __init__(self, inner: Discriminator, policy: str = "color,translation,cutout",
                 translation_ratio: float = 0.125, cutout_ratio: float = 0.5) -> None:
        super().__init__()
        self.inner = inner
        self.policy = parse_policy(policy)
        self.translation_ratio = translation_ratio
        self.cutout_ratio = cutout_ratio

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        from .augment import diff_augment

        if self.training and self.policy:
            x = diff_augment(x, self.policy, translation_ratio=self.translation_ratio,
                             cutout_ratio=self.cutout_ratio)
        return self.inner(x, labels)


class DiffAugmentOptions(VariantOptions):
    """The options :func:`with_diffaugment` adds to a variant's own."""

    policy: str = Field("color,translation,cutout",
                        description="comma-separated subset of color, translation, cutout ('' = off)")
    translation_ratio: float = Field(0.125, ge=0, le=0.5, description="largest shift, fraction of the side")
    cutout_ratio: float = Field(0.5, gt=0, le=1, description="cutout square side, fraction of the side")

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        try:
            parse_policy(v)
        except Exception as exc:  # GanzooError -> pydantic error, reported with the config line
            raise ValueError(str(exc)) from None
        return v


def with_diffaugment(variant_cls: V, *, doc: str | None = None) -> V:
    """A subclass of ``variant_cls`` (an ``AdversarialVariant``) whose D sees DiffAugment'ed inputs.

    Register the result under a name of your choice: ``register("my_gan_diffaug",
    with_diffaugment(MyGAN))``.
    """
    if not (isinstance(variant_cls, type) and issubclass(variant_cls, AdversarialVariant)):
        raise TypeError(f"with_diffaugment needs an AdversarialVariant subclass, got {variant_cls!r}")
    base_options = variant_cls.Options
    options = type(f"{base_options.__name__}DiffAugment", (base_options, DiffAugmentOptions),
                   {"__module__": __name__, "__doc__": base_options.__doc__})

    def build_networks(self):
        G, D = super(augmented, self).build_networks()
        o = self.options
        return G, AugmentedDiscriminator(D, o.policy, o.translation_ratio, o.cutout_ratio)

    augmented = type(f"{variant_cls.__name__}DiffAugment", (variant_cls,), {
        "__module__": variant_cls.__module__,
        "__doc__": doc or f"{(variant_cls.__doc__ or variant_cls.__name__).strip().splitlines()[0]} "
                          "+ DiffAugment on D's inputs.",
        "Options": options,
        "build_networks": build_networks,
    })
    return augmented  # type: ignore[return-value]
