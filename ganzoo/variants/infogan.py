"""InfoGAN (Chen et al. 2016): latent codes that the GAN learns to make meaningful, without labels.

G's input is ``[noise, one-hot c_cat, c_cont]``: a categorical code of ``n_categories`` values
(uniform) and ``n_continuous`` codes ``U(-1, 1)``, drawn by the generator's ``sample_latent`` so
every caller (training, samples, the preview grid) gets them. D has a Q head on its own features
(:class:`~ganzoo.nets.heads.AuxiliaryDCGANDiscriminator`) that predicts the codes of a generated
image: categorical logits and the means of a unit-variance Gaussian per continuous code.

The mutual-information term ``L_I = CE(Q_cat, c_cat) + lambda_cont * 1/2 ||Q_cont - c_cont||^2``
(the variational lower bound of ``I(c; G(z, c))`` up to constants) joins G's loss and D's loss
on generated samples (it trains the Q head and the shared body), weighted by ``lambda_info``.
Labels are never read: the categorical code finds the data's classes on its own if it can.
Logged: ``loss_info_d``, ``loss_info_g``.

With the paper's Q (reading D's own pass) G may hide a code in a change no one sees, or in the
largest factor of the data (on the shapes: the hue), not in the one a user wants. ``q_augment``
and ``q_noise`` make Q read a changed copy (grey, shifted, zoomed, noisy): a code must survive the
changes, so it can only live in what they keep (on the shapes: the shape). This is the invariance
idea of IIC (Ji et al. 2019) applied to Q; the changes are the user's choice of what the code
should ignore.

``code_grid`` makes latent codes that vary one code while holding the rest (``ganzoo sample
--vary-code``); ``infer_codes`` reads Q's codes for real images (e.g. to match ``c_cat`` to
classes).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from .. import augment as ops
from ..errors import GanzooError
from ..hookspecs import hookimpl
from ..interfaces import eval_mode
from ..nets.dcgan import DCGANGenerator
from ..nets.heads import AuxiliaryDCGANDiscriminator
from ..nets.mlp import init_normal
from .dcgan import DCGAN, DCGANOptions


class InfoGANOptions(DCGANOptions):
    z_dim: int = Field(62, gt=0, description="size of the incompressible noise (besides the codes)")
    n_categories: int = Field(10, ge=2, description="values of the categorical code")
    n_continuous: int = Field(2, ge=0, description="continuous codes, each U(-1, 1)")
    lambda_info: float = Field(1.0, ge=0, description="weight of the mutual-information term")
    lambda_cont: float = Field(0.1, ge=0, description="weight of the continuous codes within it")
    q_hidden: int = Field(128, gt=0, description="hidden size of the Q head")
    q_noise: float = Field(0.0, ge=0, description="std of Gaussian noise on the generated images Q's "
                                                  "category reads (0: Q reads D's own pass, as in the paper)")
    q_augment: list[Literal["grey", "translate", "zoom", "flip", "brightness", "contrast"]] = Field(
        default_factory=list,
        description="changes made to every generated image before Q reads its category (grey: its "
        "luminance only; zoom: scaled by up to 1.4x either way; the others: ADA's operations); "
        "a code must survive them, so it cannot hide in what they change ([]: as in the paper)")


def grey(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """A chosen image's channels all set to their mean: the colour is gone, the shape stays."""
    return torch.where(chosen.view(-1, 1, 1, 1), x.mean(dim=1, keepdim=True).expand_as(x), x)


#: ``zoom`` scales by exp(U(-log ZOOM_MAX, log ZOOM_MAX))
ZOOM_MAX = 1.4


def zoom(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """A chosen image scaled about its centre (bilinear, edges extended): its size is gone."""
    n = x.shape[0]
    factor = torch.exp((torch.rand(n, device=x.device) * 2 - 1) * math.log(ZOOM_MAX))
    factor = torch.where(chosen, factor, torch.ones_like(factor)).to(x.dtype)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / factor
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


#: the operations ``q_augment`` may name, applied in this order
Q_VIEWS = {"grey": grey, "translate": ops.translate, "zoom": zoom, "flip": ops.flip_x,
           "brightness": ops.brightness, "contrast": ops.contrast}


class InfoGANGenerator(DCGANGenerator):
    """DCGAN generator whose latent is ``[noise, one-hot c_cat, c_cont]``."""

    def __init__(self, noise_dim: int, n_cat: int, n_cont: int, image_size: int, channels: int,
                 ngf: int) -> None:
        super().__init__(noise_dim + n_cat + n_cont, image_size, channels, ngf)
        self.noise_dim, self.n_cat, self.n_cont = noise_dim, n_cat, n_cont

    def sample_latent(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Noise N(0, I), a uniform category and uniform U(-1, 1) continuous codes."""
        if device is None:
            device = next(self.parameters()).device
        where = generator.device if generator is not None else device
        noise = torch.randn(n, self.noise_dim, device=where, generator=generator)
        cat = torch.randint(0, self.n_cat, (n,), device=where, generator=generator)
        cont = torch.rand(n, self.n_cont, device=where, generator=generator) * 2 - 1
        return self.join(noise, cat, cont).to(device)

    def join(self, noise: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        return torch.cat([noise, F.one_hot(cat.long(), self.n_cat).to(noise.dtype), cont], dim=1)

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(noise, c_cat as indices, c_cont)`` of latent codes."""
        noise, onehot, cont = z.split([self.noise_dim, self.n_cat, self.n_cont], dim=1)
        return noise, onehot.argmax(1), cont


class InfoGAN(DCGAN):
    """DCGAN with categorical and continuous codes and a Q head sharing D's body."""

    Options = InfoGANOptions
    options: InfoGANOptions
    G: InfoGANGenerator
    varies_codes = True

    def build_networks(self):
        o, info = self.options, self.data_info
        G = InfoGANGenerator(o.z_dim, o.n_categories, o.n_continuous, info.image_size,
                             info.channels, o.ngf)
        init_normal(G)
        D = AuxiliaryDCGANDiscriminator(info.image_size, info.channels, o.ndf,
                                        o.n_categories + o.n_continuous, norm=o.d_norm,
                                        aux_hidden=o.q_hidden)
        return G, D

    def discriminate(self, critic: torch.nn.Module, x: torch.Tensor,
                     labels: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        """Real/fake scores and Q's outputs (of the augmented image when ADA is on); when Q's
        category reads a changed copy, the image too, for :meth:`q_outputs`."""
        x = x if self.augment is None else self.augment(x)
        scores, q = self.D.heads(x)
        return scores, ((x, q) if self.q_reads_a_copy else q)

    @property
    def q_reads_a_copy(self) -> bool:
        return bool(self.options.q_noise or self.options.q_augment)

    def q_outputs(self, aux: Any) -> torch.Tensor:
        """Q's outputs from ``discriminate``'s aux: as they are, or with the categorical logits
        read from a changed copy of the image (``q_augment``, then ``q_noise``). A category hidden
        in a faint change or in what the changes destroy does not reach Q, so G must carry it in
        what survives them; the continuous codes still read the image itself, so they stay free
        to take the factors the changes remove (position, size)."""
        if not self.q_reads_a_copy:
            return aux
        x, q = aux
        chosen = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        for name in (n for n in Q_VIEWS if n in self.options.q_augment):
            x = Q_VIEWS[name](x, chosen)
        if self.options.q_noise:
            x = x + self.options.q_noise * torch.randn_like(x)
        k = self.options.n_categories
        return torch.cat([self.D.heads(x)[1][:, :k], q[:, k:]], dim=1)

    def info_loss(self, z: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """``lambda_info * (CE(cat) + lambda_cont * 1/2 E||mu - c_cont||^2)`` for codes in ``z``."""
        o = self.options
        _, cat, cont = self.G.split(z)
        q = q.float()
        loss = F.cross_entropy(q[:, :o.n_categories], cat)
        if o.n_continuous:
            loss = loss + o.lambda_cont * 0.5 * (q[:, o.n_categories:] - cont.float()).pow(2).sum(1).mean()
        return o.lambda_info * loss

    def discriminator_extra(self, z, labels, real_aux, fake_aux) -> dict[str, torch.Tensor]:
        return {"loss_info_d": self.info_loss(z, self.q_outputs(fake_aux))}

    def generator_extra(self, z, labels, fake_aux) -> dict[str, torch.Tensor]:
        return {"loss_info_g": self.info_loss(z, self.q_outputs(fake_aux))}

    # -- reading and steering the codes -------------------------------------------------------
    @torch.no_grad()
    def infer_codes(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q's categorical probabilities ``(N, K)`` and continuous means ``(N, C)`` of images."""
        with eval_mode(self.D):
            _, q = self.D.heads(images.to(self._device()))
        k = self.options.n_categories
        return q[:, :k].float().softmax(1), q[:, k:].float()

    def code_grid(self, code: str, steps: int, rows: int, generator: torch.Generator | None = None,
                  span: float = 1.0) -> torch.Tensor:
        """``rows * steps`` latent codes: each row holds one draw of noise and codes and moves one
        code across its ``steps`` columns: ``cat`` through every category (``steps`` ignored),
        ``cont<i>`` from ``-span`` to ``span``."""
        o = self.options
        base = self.G.sample_latent(rows, device=self._device(), generator=generator)
        noise, cat, cont = self.G.split(base)
        if code == "cat":
            steps = o.n_categories
            values = torch.arange(steps, device=base.device)
            cat = values.repeat(rows)
            noise, cont = noise.repeat_interleave(steps, 0), cont.repeat_interleave(steps, 0)
            return self.G.join(noise, cat, cont)
        names = [f"cont{i}" for i in range(o.n_continuous)]
        if code not in names:
            raise GanzooError(f"unknown code '{code}'; this run has: {', '.join(['cat', *names])}")
        i = names.index(code)
        noise, cat = noise.repeat_interleave(steps, 0), cat.repeat_interleave(steps, 0)
        cont = cont.repeat_interleave(steps, 0).clone()
        cont[:, i] = torch.linspace(-span, span, steps, device=base.device).repeat(rows)
        return self.G.join(noise, cat, cont)


@hookimpl
def register_variants(register) -> None:
    register("infogan", InfoGAN)
