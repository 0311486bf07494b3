"""BigGAN: smoke test and shipped config, then one test per architectural piece."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ganzoo.config import load_config
from ganzoo.data.base import DataInfo
from ganzoo.errors import GanzooError
from ganzoo.interfaces import StepContext
from ganzoo.nets.biggan import BigGANDiscriminator, BigGANGenerator, ClassConditionalBatchNorm2d, SelfAttention
from ganzoo.testing import check_variant
from ganzoo.trainer import train
from ganzoo.variants.biggan import BigGAN, BigGANOptions, truncated_normal

ROOT = Path(__file__).resolve().parents[2]
K = 3
TINY = {"name": "biggan", "z_dim": 8, "g_ch": 4, "d_ch": 4, "shared_dim": 6, "attention_resolution": 16}
INFO = DataInfo(name="shapes", kind="images", shape=(3, 32, 32), num_classes=K)


def tiny_variant(**changes) -> BigGAN:
    torch.manual_seed(0)
    return BigGAN(BigGANOptions(**{**TINY, **changes}), INFO)


# -- the whole variant ---------------------------------------------------------------------------
def test_smoke_test_passes_and_the_generator_average_is_on_by_default(tmp_path):
    out = check_variant(TINY, {"name": "shapes", "image_size": 32, "size": 64, "num_classes": K}, tmp_path)
    assert {"loss_d", "loss_g"} <= set(out["losses"])
    ckpt = torch.load(next((out["run_dir"] / "checkpoints").glob("*.pt")), weights_only=True)
    assert ckpt.get("ema"), "BigGAN samples from an average of G unless the config says otherwise"
    assert BigGAN.default_ema["decay"] == 0.999


def test_shipped_config_trains_end_to_end_at_tiny_size(tmp_path):
    tiny = ["train.steps=2", "train.batch_size=8", "data.size=32", "variant.g_ch=4", "variant.d_ch=4",
            "variant.shared_dim=4", "variant.z_dim=8", f"run.out_dir={tmp_path}", "log.every=1",
            "log.image_every=2", "checkpoint.every=2", "log.tensorboard=false", "log.progress=false"]
    cfg = load_config(ROOT / "zoo_configs" / "biggan.yaml", tiny)
    assert cfg.variant.name == "biggan" and cfg.data.name == "shapes" and cfg.data.image_size == 32
    result = train(cfg)
    assert result.status == "finished" and (result.run_dir / "samples" / "final.png").is_file()


def test_options_follow_the_paper():
    o = BigGANOptions(name="biggan")
    assert o.loss == "hinge" and o.betas == (0.0, 0.999) and o.adam_eps == 1e-6
    opt = tiny_variant().configure_optimizers()["D"]
    assert opt.defaults["eps"] == 1e-6 and opt.defaults["betas"] == (0.0, 0.999)


# -- generator: conditional BatchNorm and hierarchical latents -------------------------------------
def test_conditional_batchnorm_applies_the_gain_and_bias_computed_from_the_conditioning():
    torch.manual_seed(0)
    cbn = ClassConditionalBatchNorm2d(4, cond_dim=5)
    cbn.gain.eval(), cbn.bias.eval()           # fixed spectral-norm estimates: deterministic weights
    x, cond = torch.randn(6, 4, 3, 3) * 2 + 1, torch.randn(6, 5)
    normalised = (x - x.mean(dim=(0, 2, 3), keepdim=True)) / torch.sqrt(
        x.var(dim=(0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    gain = cond @ cbn.gain.weight.t()
    bias = cond @ cbn.bias.weight.t()
    expected = normalised * (1 + gain[:, :, None, None]) + bias[:, :, None, None]
    assert torch.allclose(cbn(x, cond), expected, atol=1e-5)
    assert gain.abs().min() > 0 and bias.abs().min() > 0  # the check is not vacuous


def _block_inputs(G: BigGANGenerator, z: torch.Tensor, labels: torch.Tensor):
    """What G's input layer and each block's conditional BatchNorms are fed."""
    seen: dict[str, torch.Tensor] = {}
    hooks = [G.input.register_forward_hook(lambda m, args, out: seen.__setitem__("input", args[0]))]
    for i, block in enumerate(G.blocks):
        hooks.append(block.register_forward_hook(
            lambda m, args, out, i=i: seen.__setitem__(f"block{i}", args[1])))
    with torch.no_grad():
        G.eval()(z, labels)
    for h in hooks:
        h.remove()
    return seen


def test_hierarchical_latents_give_each_block_its_own_chunk_of_z():
    G = tiny_variant().G
    assert G.num_chunks == len(G.blocks) + 1 == 4
    z, labels = torch.randn(2, 8), torch.tensor([0, 2])
    seen = _block_inputs(G, z, labels)
    chunks = G.split_latent(z)
    assert torch.equal(seen["input"], chunks[0])
    for i in range(len(G.blocks)):  # each block sees [shared embedding of y, its chunk]
        assert torch.equal(seen[f"block{i}"], torch.cat([G.shared(labels), chunks[i + 1]], dim=1))
    for changed in range(G.num_chunks):  # changing one chunk changes only what its layer sees
        z2 = torch.cat([c + 1 if j == changed else c for j, c in enumerate(chunks)], dim=1)
        seen2 = _block_inputs(G, z2, labels)
        differs = {k for k in seen if not torch.equal(seen[k], seen2[k])}
        assert differs == {"input" if changed == 0 else f"block{changed - 1}"}


# -- discriminator: projection ------------------------------------------------------------------
def test_projection_term_is_the_inner_product_of_the_class_embedding_and_the_features():
    D = tiny_variant().D.eval()
    x, labels = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 1])
    with torch.no_grad():
        h = D.features(x)
        projection = D(x, labels) - D.psi(h).view(-1)
        assert torch.allclose(projection, (D.embed(labels) * h).sum(dim=1), atol=1e-5)
        assert not torch.allclose(D(x, labels), D(x, torch.tensor([1, 2, 0, 0])))
        # sum pooling: h is the sum over positions of the last block's ReLU'd features
        last = x
        for i, block in enumerate(D.blocks):
            last = D.attention(block(last)) if i == D.attention_after else block(last)
        assert torch.allclose(h, F.relu(last).sum(dim=(2, 3)))


# -- self-attention -----------------------------------------------------------------------------
def test_self_attention_starts_as_the_identity_and_then_mixes_positions():
    attention = SelfAttention(16)
    assert attention.gamma.item() == 0
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(attention(x), x)
    with torch.no_grad():
        attention.gamma.fill_(1.0)
    changed = attention(x) - x
    local = x.clone()
    local[:, :, 0, 0] += 5  # one position changed: with attention every position's output moves
    assert (attention(local) - local - changed)[:, :, 7, 7].abs().max() > 0


@pytest.mark.parametrize("resolution", [8, 16])
def test_attention_sits_at_the_configured_resolution_in_both_nets(resolution):
    variant = tiny_variant(attention_resolution=resolution)
    sizes = []
    for net in (variant.G, variant.D):
        net.attention.register_forward_hook(lambda m, args, out: sizes.append(tuple(args[0].shape[-2:])))
    with torch.no_grad():
        variant.G.eval()(torch.randn(2, 8), torch.tensor([0, 1]))
        variant.D.eval()(torch.randn(2, 3, 32, 32), torch.tensor([0, 1]))
    assert sizes == [(resolution, resolution)] * 2


def test_attention_can_be_off_and_bad_resolutions_are_clear_errors():
    variant = tiny_variant(attention_resolution=None)
    assert variant.G.attention is None and variant.D.attention is None
    assert not any(isinstance(m, SelfAttention) for m in variant.modules())
    for bad in (4, 12, 32):
        with pytest.raises(GanzooError, match=r"attention_resolution must be one of \[8, 16\]"):
            tiny_variant(attention_resolution=bad)
    with pytest.raises(GanzooError, match="at least 32"):
        BigGAN(BigGANOptions(**TINY), DataInfo(name="s", kind="images", shape=(3, 16, 16), num_classes=K))


def test_64px_networks_have_one_more_block():
    info = DataInfo(name="shapes", kind="images", shape=(3, 64, 64), num_classes=K)
    variant = BigGAN(BigGANOptions(**{**TINY, "z_dim": 10, "attention_resolution": 32}), info).eval()
    assert len(variant.G.blocks) == 4 and len(variant.D.blocks) == 5
    with torch.no_grad():
        images = variant.G(torch.randn(2, 10), torch.tensor([0, 1]))
        assert images.shape == (2, 3, 64, 64) and variant.D(images, torch.tensor([0, 1])).shape == (2,)


# -- spectral norm ------------------------------------------------------------------------------
def _weighted_layers(net: nn.Module):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]


def test_every_layer_of_both_nets_is_spectrally_normalised():
    variant = tiny_variant()
    for name, net in (("G", variant.G), ("D", variant.D)):
        layers = [m for m in _weighted_layers(net) if m is not getattr(net, "shared", None)]
        assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers), name
        torch.manual_seed(1)
        for m in layers:  # weights far from norm 1, then power iterations (one per training read)
            with torch.no_grad():
                m.parametrizations.weight.original.normal_(0, 3)
            for _ in range(60):
                m.weight
        net.eval()
        sigmas = torch.stack([torch.linalg.matrix_norm(m.weight.flatten(1), ord=2) for m in layers])
        assert torch.allclose(sigmas, torch.ones_like(sigmas), atol=0.03), (name, sigmas)
    # G's shared class embedding is not normalised (it feeds normalised linear maps)
    assert not parametrize.is_parametrized(variant.G.shared, "weight")


# -- training rule: ortho reg, D steps ----------------------------------------------------------
def _batches(n: int = 4):
    while True:
        yield {"x": torch.rand(n, 3, 32, 32) * 2 - 1, "y": torch.randint(0, K, (n,))}


def test_orthogonal_regularization_is_added_to_g_when_its_weight_is_positive():
    assert {"name": "ortho", "weight": 1e-4} in tiny_variant().regularizer_specs()
    assert not any(s["name"] == "ortho" for s in tiny_variant(ortho_weight=0).regularizer_specs())
    listed = tiny_variant(regularizers=[{"name": "ortho", "weight": 0.5}]).regularizer_specs()
    assert [s["weight"] for s in listed if s["name"] == "ortho"] == [0.5]
    variant = tiny_variant(ortho_weight=1e-3)
    variant.optimizers = variant.configure_optimizers()
    logs = variant.train_step(_batches(), StepContext(torch.device("cpu")))
    assert logs["reg/ortho"] > 0  # applied in the G update


@pytest.mark.parametrize("d_steps", [1, 3])
def test_d_steps_discriminator_updates_per_generator_update(d_steps):
    variant = tiny_variant(d_steps=d_steps)
    variant.optimizers = variant.configure_optimizers()
    drawn = []

    def counted():
        for batch in _batches():
            drawn.append(1)
            yield batch

    variant.train_step(counted(), StepContext(torch.device("cpu")))
    assert len(drawn) == d_steps  # one fresh real batch per D update
    steps = {name: next(iter(opt.state.values()))["step"].item() for name, opt in variant.optimizers.items()}
    assert steps == {"D": d_steps, "G": 1}


# -- sampling -----------------------------------------------------------------------------------
def test_sampling_is_balanced_by_default_and_checks_labels():
    variant = tiny_variant()
    balanced = variant.sample(6, generator=torch.Generator().manual_seed(3))
    explicit = variant.sample(6, generator=torch.Generator().manual_seed(3), labels=torch.tensor([0, 1, 2] * 2))
    assert torch.equal(balanced, explicit) and balanced.shape == (6, 3, 32, 32)
    with pytest.raises(GanzooError, match=r"0\.\.2"):
        variant.sample(2, labels=torch.tensor([0, 3]))


def test_truncated_sampling_draws_z_within_the_threshold():
    z = truncated_normal(500, 8, 0.5, torch.Generator().manual_seed(0))
    assert z.abs().max() <= 0.5 and z.std() > 0.2  # redrawn, not clipped: no pile-up at the edge
    assert (z.abs() > 0.49).float().mean() < 0.05
    assert torch.equal(z, truncated_normal(500, 8, 0.5, torch.Generator().manual_seed(0)))
    variant = tiny_variant()
    images = variant.sample_truncated(4, 0.5, generator=torch.Generator().manual_seed(1),
                                      labels=torch.tensor([2, 2, 0, 1]))
    assert images.shape == (4, 3, 32, 32) and images.abs().max() <= 1
    expected = variant.preview({"z": truncated_normal(4, 8, 0.5, torch.Generator().manual_seed(1)),
                                "labels": torch.tensor([2, 2, 0, 1])})
    assert torch.equal(images, expected)
    with pytest.raises(GanzooError, match="positive"):
        variant.sample_truncated(2, 0.0)
