"""The variational autoencoder baseline (Kingma & Welling 2014), trained like any variant.

Model: prior ``p(z) = N(0, I)``, Gaussian posterior ``q(z|x) = N(mu(x), diag exp(logvar(x)))``
sampled by reparameterisation, and a decoder likelihood ``p(x|z)`` chosen by ``recon``:

* ``bce`` (images, default): pixels mapped to [0, 1] are scored by a Bernoulli likelihood of the
  decoder's logits (the usual "binary cross-entropy" VAE). For non-binary pixels this is a
  cross-entropy, not a normalised density, so its "ELBO" is a training score rather than a bound
  on a log-likelihood;
* ``gaussian``: ``N(mean(z), sigma^2 I)`` in data units (images in [-1, 1], mean ``tanh``;
  points, mean linear). ``sigma: <number>`` fixes the standard deviation; ``sigma: null`` (the
  default) learns one log-std shared by every dimension, in its own parameter group with 10x the
  learning rate so it settles within a short run. Here the ELBO is a true bound on the
  log-density of the data (continuous, so it can be positive).

Loss per image: ``reconstruction NLL + beta * KL(q(z|x) || p(z))``, averaged over the batch
(``beta`` = 1 is the ELBO; other values give the beta-VAE). ``validate`` reports, on held-out data
with one posterior sample per item and beta = 1, the ELBO and its two terms in **nats per image**
(sums over all of an item's dimensions) and ``elbo_per_dim`` in nats per dimension.

``sample(n)`` decodes prior draws and returns the decoder *mean* in the data's range, so
``ganzoo sample`` and the metrics treat the VAE like a GAN; ``generator_net()`` is the decoder.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ..errors import GanzooError
from ..hookspecs import hookimpl
from ..interfaces import Betas, StepContext, Variant, VariantOptions, Widths, eval_mode
from ..nets.vae import ConvEncoder, MLPEncoder, conv_decoder, mlp_decoder

LOG_2PI = math.log(2 * math.pi)
#: Learned Gaussian log-std is kept above this (std 1e-3 in data units) to avoid collapse.
MIN_LOG_SIGMA = math.log(1e-3)
#: The learned log-std trains with this multiple of ``lr``.
SIGMA_LR_SCALE = 10.0


# -- the loss terms, per item (summed over dimensions) --------------------------------------------
def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per row, in nats (closed form)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``-log p(x|z)`` per item for targets ``x`` in [-1, 1], mapped to [0, 1]."""
    target = (x + 1) / 2
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).sum(1)


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """``-log N(x; mean, sigma^2 I)`` per item, with one shared ``log_sigma``."""
    z = (x - mean) * torch.exp(-log_sigma)
    return (0.5 * z.pow(2) + log_sigma + 0.5 * LOG_2PI).flatten(1).sum(1)


class VAEOptions(VariantOptions):
    z_dim: int = Field(32, gt=0, description="latent size")
    width: int = Field(64, gt=0, description="conv encoder/decoder width (images; DCGAN's ndf/ngf)")
    norm: Literal["batch", "layer", "none"] = Field("batch", description="encoder normalisation")
    hidden: Widths = Field([256, 256], min_length=1, description="MLP hidden sizes (points)")
    act: Literal["relu", "leaky_relu", "tanh", "elu"] = Field("leaky_relu", description="MLP activation")
    recon: Literal["auto", "bce", "gaussian"] = Field(
        "auto", description="likelihood: bce (images) or gaussian; auto: bce for images, gaussian for points")
    sigma: float | None = Field(None, gt=0, description="gaussian std in data units; null: learned")
    beta: float = Field(1.0, ge=0, description="weight of the KL term (1: the ELBO)")
    lr: float = Field(1e-3, gt=0)
    betas: Betas = Field((0.9, 0.999), description="Adam betas")
    preview_reconstructions: bool = Field(
        True, description="images: the grid's last two rows are held-fixed real images and their reconstructions")


class VAE(Variant):
    """A variational autoencoder: the likelihood baseline; scores held-out data (ELBO)."""

    Options = VAEOptions
    supports_accumulation = True
    supports = ("images", "points")
    validates = True
    options: VAEOptions

    def __init__(self, options: VAEOptions, data) -> None:
        super().__init__(options, data)
        o = options
        images = data.kind == "images"
        recon = o.recon if o.recon != "auto" else ("bce" if images else "gaussian")
        if recon == "bce" and not images:
            raise GanzooError(f"variant.recon: bce needs image data, but data set '{data.name}' is "
                              f"{data.kind}; use variant.recon: gaussian (or auto)")
        self.recon = recon
        output = "sigmoid" if recon == "bce" else ("tanh" if images else "linear")
        if images:
            self.encoder = ConvEncoder(data.image_size, data.channels, o.z_dim, o.width, o.norm)
            self.decoder = conv_decoder(o.z_dim, data.image_size, data.channels, o.width, output)
        else:
            self.encoder = MLPEncoder(data.shape, o.z_dim, o.hidden, o.act)
            self.decoder = mlp_decoder(o.z_dim, data.shape, o.hidden, output, o.act)
        self.log_sigma: nn.Parameter | None = None
        if recon == "gaussian" and o.sigma is None:
            self.log_sigma = nn.Parameter(torch.zeros(()))

    # -- the model -----------------------------------------------------------------------------
    def _log_sigma(self) -> torch.Tensor:
        if self.log_sigma is not None:
            return self.log_sigma.clamp(min=MIN_LOG_SIGMA)
        return torch.tensor(math.log(self.options.sigma), device=self._device())

    def recon_nll(self, raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``-log p(x|z)`` per item from the decoder's raw output."""
        if self.recon == "bce":
            return bernoulli_nll(raw, x)
        return gaussian_nll(self.decoder.mean(raw), x, self._log_sigma())

    def terms(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction NLL and KL per item (nats), with one reparameterised posterior draw."""
        mu, logvar = self.encoder(x)
        mu, logvar = mu.float(), logvar.float()
        if eps is None:
            eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.recon_nll(self.decoder.raw(z).float(), x.float()), gaussian_kl(mu, logvar)

    # -- training ------------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        groups: list[dict[str, Any]] = [
            {"params": list(self.encoder.parameters()) + list(self.decoder.parameters())}]
        if self.log_sigma is not None:
            groups.append({"params": [self.log_sigma], "lr": o.lr * SIGMA_LR_SCALE})
        return {"vae": torch.optim.Adam(groups, lr=o.lr, betas=o.betas)}

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        opt = self.optimizers["vae"]
        opt.zero_grad(set_to_none=True)
        sums = {"loss": 0.0, "loss_recon": 0.0, "loss_kl": 0.0}
        for _ in range(ctx.accumulate):  # micro-batches when accumulating gradients
            x = next(batches)["x"]
            with ctx.autocast():
                rec, kl = self.terms(x)
                loss = (rec + self.options.beta * kl).mean()
            ctx.backward(loss)
            for name, value in (("loss", loss), ("loss_recon", rec.mean()), ("loss_kl", kl.mean())):
                sums[name] = sums[name] + value.detach()
        ctx.step(opt, "vae")
        logs = {k: v / ctx.accumulate for k, v in sums.items()}
        if self.log_sigma is not None:
            logs["sigma"] = self._log_sigma().detach().exp()
        return logs

    @torch.no_grad()
    def validate(self, batch: dict[str, torch.Tensor], chunk: int = 250) -> dict[str, float]:
        """Held-out ELBO (beta = 1) and its terms in nats per image; ``elbo_per_dim`` per dimension.

        One posterior draw per item from a fixed seed, so the score is repeatable and the
        training RNG is untouched.
        """
        x = batch["x"]
        gen = torch.Generator().manual_seed(0)
        rec_sum = kl_sum = 0.0
        noise = torch.randn(x.shape[0], self.options.z_dim, generator=gen).to(x.device)
        for xc, eps in zip(x.split(chunk), noise.split(chunk)):
            rec, kl = self.terms(xc, eps)
            rec_sum += float(rec.sum())
            kl_sum += float(kl.sum())
        n, dims = x.shape[0], math.prod(x.shape[1:])
        elbo = -(rec_sum + kl_sum) / n
        return {"elbo": elbo, "recon_nll": rec_sum / n, "kl": kl_sum / n, "elbo_per_dim": elbo / dims}

    # -- sampling ------------------------------------------------------------------------------
    def generator_net(self) -> nn.Module:
        return self.decoder

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder means of ``n`` prior draws, in the data's range (``labels`` is ignored)."""
        z = self.decoder.sample_latent(n, device=self._device(), generator=generator)
        return self.preview({"z": z, "x": None})

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        """Fixed prior draws; for images, a square grid whose last two rows are real images and
        their reconstructions (the trainer tiles ceil(sqrt(N)) per row)."""
        device = self._device()
        side = math.ceil(math.sqrt(n))
        x = examples.get("x")
        if (self.data_info.kind == "images" and self.options.preview_reconstructions and side >= 3
                and x is not None and x.shape[0] >= side):
            z = self.decoder.sample_latent(side * (side - 2), device=device, generator=generator)
            return {"z": z, "x": x[:side].to(device)}
        return {"z": self.decoder.sample_latent(n, device=device, generator=generator), "x": None}

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        dec, enc = self.generator_net(), self.encoder
        with eval_mode(dec, enc):
            out = dec(fixed["z"])
            if fixed.get("x") is not None:
                mu, _ = enc(fixed["x"])
                out = torch.cat([out, fixed["x"], dec(mu)])
            return out


@hookimpl
def register_variants(register) -> None:
    register("vae", VAE)
