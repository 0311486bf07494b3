"""StyleGAN2: smoke runs, and one check per architectural piece that fails if that piece is wrong."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.config import load_config
from ganzoo.data.base import DataInfo
from ganzoo.errors import ConfigError
from ganzoo.interfaces import StepContext
from ganzoo.nets.stylegan2 import (EqualConv2d, EqualLinear, MinibatchStd, ModulatedConv2d,
                                   StyledLayer, StyleGAN2Discriminator, StyleGAN2Generator)
from ganzoo.testing import check_variant
from ganzoo.trainer import train
from ganzoo.variants.stylegan2 import StyleGAN2, StyleGAN2Options

ROOT = Path(__file__).resolve().parents[2]
SHAPES = {"name": "shapes", "image_size": 16, "size": 64}
TINY = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16,
        "mbstd_group": 4}
INFO = DataInfo(name="shapes", kind="images", shape=(3, 16, 16))


def tiny_generator(**kw) -> StyleGAN2Generator:
    return StyleGAN2Generator(16, 16, 16, 3, mapping_layers=2, channel_base=128, channel_max=16, **kw)


def tiny_variant(**opts) -> StyleGAN2:
    variant = StyleGAN2(StyleGAN2Options(name="stylegan2", **{**TINY, **opts}), INFO)
    variant.optimizers = variant.configure_optimizers()
    return variant


def real_batches(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    while True:
        yield {"x": torch.rand(n, 3, 16, 16, generator=g) * 2 - 1}


# -- end to end --------------------------------------------------------------------------------
def test_check_variant_with_every_regularizer_on(tmp_path, monkeypatch):
    # check_variant's round trip compares the reloaded variant with the checkpoint's live weights,
    # but load_run swaps in the generator average, which StyleGAN2 keeps by default; the average
    # itself is checked in the next test.
    monkeypatch.setattr(StyleGAN2, "default_ema", None)
    seen = check_variant({"name": "stylegan2", **TINY, "pl_weight": 2.0, "pl_every": 1,
                          "style_mixing_prob": 0.9}, SHAPES, tmp_path, steps=2)
    assert {"loss_d", "loss_g", "reg/r1", "reg/pl"} <= set(seen["losses"])
    assert float(seen["trained"].variant.pl_mean) > 0  # restored from the checkpoint


def test_zoo_config_runs_end_to_end_and_keeps_a_generator_average_by_default(tmp_path):
    cfg = load_config(ROOT / "zoo_configs" / "stylegan2.yaml", [
        "train.steps=4", "train.batch_size=8", "data.image_size=16", "data.size=64",
        "variant.channel_base=64", "variant.channel_max=8", "variant.z_dim=8", "variant.w_dim=8",
        f"run.out_dir={tmp_path}", "log.every=2", "log.image_every=4", "log.num_images=4",
        "log.tensorboard=false", "log.progress=false", "checkpoint.every=4", "device=cpu",
        "ema=null"])  # no ema: block -> the variant's default_ema
    assert cfg.ema is None
    result = train(cfg)
    assert result.status == "finished" and result.step == 4
    assert result.grid is not None and result.grid.is_file()
    state = torch.load(result.checkpoint, weights_only=True)
    live = {k[len("G."):]: v for k, v in state["model"].items() if k.startswith("G.")}
    assert "ema" in state and state["ema"].keys() == live.keys()
    assert any(not torch.equal(state["ema"][k], v) for k, v in live.items())  # averaged, not copied


@pytest.mark.parametrize("size", [8, 16, 64, 256])
def test_networks_work_from_small_to_large_sizes(size):
    G = StyleGAN2Generator(8, 8, size, 3, mapping_layers=1, channel_base=2 * size, channel_max=4)
    D = StyleGAN2Discriminator(size, 3, channel_base=2 * size, channel_max=4)
    images = G(torch.randn(2, 8))
    assert images.shape == (2, 3, size, size) and G.num_ws == 2 * int(math.log2(size)) - 2
    assert D(images).shape == (2,)


def test_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="power-of-two"):
        StyleGAN2Generator(8, 8, 24, 3)
    with pytest.raises(ConfigError, match="channel_base"):
        StyleGAN2Discriminator(64, 3, channel_base=32)


# -- modulation, noise, equalized learning rate ---------------------------------------------
def test_demodulation_gives_unit_variance_and_modulation_alone_does_not():
    torch.manual_seed(0)
    conv = ModulatedConv2d(32, 16, w_dim=8)
    x, w = torch.randn(8, 32, 24, 24), 2 * torch.randn(8, 8)  # styles far from 1
    with torch.no_grad():
        out = conv(x, w)[:, :, 1:-1, 1:-1]  # border pixels see zero padding
        conv.demodulate = False
        raw = conv(x, w)[:, :, 1:-1, 1:-1]
    per_map = out.var(dim=(2, 3))  # each sample's own weights, so each (sample, channel) map
    assert abs(float(out.var()) - 1) < 0.05 and (per_map - 1).abs().max() < 0.3
    assert float(raw.var()) > 2


def test_modulated_conv_equals_conv_with_demodulated_per_sample_weights():
    torch.manual_seed(1)
    conv = ModulatedConv2d(6, 5, w_dim=4)
    x, w = torch.randn(3, 6, 7, 7), torch.randn(3, 4)
    with torch.no_grad():
        s = conv.affine(w)
        expected = []
        for i in range(3):
            wi = conv.weight / math.sqrt(6 * 9) * s[i][None, :, None, None]  # w' = s * w
            wi = wi / torch.sqrt(wi.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
            expected.append(F.conv2d(x[i:i + 1], wi, padding=1))
        assert torch.allclose(conv(x, w), torch.cat(expected), atol=1e-5)


def test_noise_strength_starts_at_zero_and_then_changes_the_output():
    torch.manual_seed(2)
    G = tiny_generator()
    assert all(layer.noise_strength.item() == 0 for layer in G.synthesis.layers)
    layer = StyledLayer(4, 4, 8, resolution=8).train()
    x, w = torch.randn(2, 4, 8, 8), torch.randn(2, 8)
    with torch.no_grad():
        assert torch.equal(layer(x, w), layer(x, w))  # fresh noise each call, but strength 0
        layer.noise_strength.fill_(1.0)
        assert not torch.allclose(layer(x, w), layer(x, w))
        layer.eval()  # eval mode: the fixed noise map, so samples depend on z alone
        assert torch.equal(layer(x, w), layer(x, w))


def equalized_layers(*nets: nn.Module) -> list[nn.Module]:
    return [m for net in nets for m in net.modules()
            if isinstance(m, (EqualLinear, EqualConv2d, ModulatedConv2d))]


def test_equalized_lr_everywhere_raw_weights_standard_normal_scaled_at_run_time():
    torch.manual_seed(3)
    G = StyleGAN2Generator(32, 32, 32, 3, mapping_layers=2, channel_base=1024, channel_max=32)
    D = StyleGAN2Discriminator(32, 3, channel_base=1024, channel_max=32)
    assert not [m for m in [*G.modules(), *D.modules()]
                if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]  # no plain layers
    mapping = set(G.mapping.modules())
    raw = []
    for m in equalized_layers(G, D):
        lr_mul = getattr(m, "lr_mul", 1.0)
        assert m.weight_scale == pytest.approx(lr_mul / math.sqrt(m.weight[0].numel()))
        assert lr_mul == (0.01 if m in mapping else 1.0)
        raw.append(m.weight.detach().flatten() * lr_mul)
    raw = torch.cat(raw)  # over 50k weights: N(0, 1) to two decimals
    assert abs(float(raw.mean())) < 0.02 and abs(float(raw.std()) - 1) < 0.02
    # the scale is applied at run time: the layer equals the plain op with scaled weights
    lin, conv = EqualLinear(10, 4, lr_mul=0.1), EqualConv2d(3, 5, 3, bias=False)
    x, img = torch.randn(2, 10), torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        assert torch.allclose(lin(x), F.linear(x, lin.weight * 0.1 / math.sqrt(10), lin.bias * 0.1))
        expected = F.conv2d(img, conv.weight / math.sqrt(27), padding=1)
        assert torch.allclose(conv(img), expected, atol=1e-6)


def test_mapping_learns_at_one_hundredth_of_the_rate():
    """Adam's first step moves every raw weight by lr, so the used weights move by lr * scale:
    100 times less in the mapping network than in a synthesis layer of the same fan-in."""
    torch.manual_seed(4)
    G = tiny_generator()
    mapping, affine = G.mapping.layers[1], G.synthesis.layers[2].conv.affine  # both fan-in 16
    before = [m.weight.detach() * m.weight_scale for m in (mapping, affine)]
    opt = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.99))
    G(torch.randn(4, 16)).square().mean().backward()
    opt.step()
    # the mean: the mapping's raw weights are ~100, where float32 rounds a 1e-3 step by ~1 %
    moved = [float((m.weight.detach() * m.weight_scale - b).abs().mean())
             for m, b in zip((mapping, affine), before)]
    assert moved[1] == pytest.approx(1e-3 / 4, rel=1e-3)
    assert moved[0] / moved[1] == pytest.approx(0.01, rel=1e-2)


# -- style mixing and truncation --------------------------------------------------------------
def styles_seen(G: StyleGAN2Generator, run) -> list[torch.Tensor]:
    """The w each style-consuming layer receives, in the order the synthesis network uses them."""
    seen: dict[int, torch.Tensor] = {}
    layers = G.synthesis.layers
    hooks = [m.conv.affine.register_forward_hook(lambda m, inp, out, i=i: seen.__setitem__(i, inp[0]))
             for i, m in enumerate(layers)]
    hooks += [rgb.conv.affine.register_forward_hook(
        lambda m, inp, out, i=2 * level + 1: seen.__setitem__(("rgb", i), inp[0]))
        for level, rgb in enumerate(G.synthesis.to_rgb)]
    with torch.no_grad():
        run()
    for h in hooks:
        h.remove()
    ordered = [seen[i] for i in range(len(layers))] + [seen[("rgb", G.num_ws - 1)]]
    for level in range(len(G.synthesis.to_rgb) - 1):  # each toRGB shares the next layer's w
        assert torch.equal(seen[("rgb", 2 * level + 1)], seen[2 * level + 1])
    return ordered


def test_style_mixing_gives_w1_before_the_crossover_and_w2_from_it_on():
    torch.manual_seed(5)
    G = tiny_generator()  # 16 px: 6 w's
    w1, w2 = torch.randn(64, 16), torch.randn(64, 16)
    ws = G.mix_styles(w1, w2, prob=1.0)
    seen = styles_seen(G, lambda: G.synthesis_from_w(ws))
    crossovers = set()
    for i in range(64):
        from_w2 = [bool(torch.equal(s[i], w2[i])) for s in seen]
        from_w1 = [bool(torch.equal(s[i], w1[i])) for s in seen]
        k = from_w2.index(True)  # the crossover layer
        assert 1 <= k < G.num_ws and all(from_w1[:k]) and all(from_w2[k:])
        crossovers.add(k)
    assert crossovers == set(range(1, G.num_ws))  # every crossover happens
    assert torch.equal(G.mix_styles(w1, w2, prob=0.0), w1[:, None].expand(-1, G.num_ws, -1))


def test_generator_mixes_only_while_training_and_with_its_probability():
    torch.manual_seed(6)
    z = torch.randn(32, 16)
    mixing, plain = tiny_generator(style_mixing_prob=1.0), tiny_generator(style_mixing_prob=0.0)
    first_last = lambda G: [(s[0], s[-1]) for s in [styles_seen(G, lambda: G(z))]][0]  # noqa: E731
    a, b = first_last(mixing.train())
    assert not torch.equal(a, b) and (a - b).abs().sum(1).gt(0).all()  # every sample mixed
    a, b = first_last(plain.train())
    assert torch.equal(a, b)
    a, b = first_last(mixing.eval())
    assert torch.equal(a, b)


def test_truncation_psi_zero_gives_w_avg_and_one_is_identity():
    torch.manual_seed(7)
    G = tiny_generator().eval()
    z = torch.randn(5, 16)
    with torch.no_grad():
        G.w_avg.copy_(torch.randn(16))
        assert torch.equal(G.w_from_z(z, psi=1.0), G.mapping(z))
        assert torch.allclose(G.w_from_z(z, psi=0.0), G.w_avg.expand(5, -1))
        half = G.w_from_z(z, psi=0.5)
        assert torch.allclose(half, G.w_avg + 0.5 * (G.mapping(z) - G.w_avg), atol=1e-6)
        assert torch.equal(G(z), G.synthesis_from_w(G.mapping(z)))  # psi 1 by default


def test_w_avg_tracks_mapped_w_in_training_only():
    torch.manual_seed(8)
    G = tiny_generator(w_avg_beta=0.9)
    z = torch.randn(6, 16)
    with torch.no_grad():
        G.eval()(z)
        assert torch.equal(G.w_avg, torch.zeros(16))
        G.train()(z)
        assert torch.allclose(G.w_avg, 0.1 * G.mapping(z).mean(0), atol=1e-6)


def test_sample_truncated_at_psi_zero_is_one_image_and_samples_lie_in_range():
    variant = tiny_variant()
    with torch.no_grad():
        variant.G.w_avg.copy_(torch.randn(16))
    mean_images = variant.sample_truncated(4, 0.0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(mean_images, mean_images[:1].expand(4, -1, -1, -1), atol=1e-6)
    samples = variant.sample(4, generator=torch.Generator().manual_seed(0))
    again = variant.sample(4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(samples, again) and not torch.allclose(samples[0], samples[1])
    assert samples.shape == (4, 3, 16, 16) and samples.min() >= -1 and samples.max() <= 1


# -- discriminator ----------------------------------------------------------------------------
def test_minibatch_std_appends_the_group_standard_deviation():
    torch.manual_seed(9)
    x = torch.randn(8, 3, 4, 4)
    out = MinibatchStd(group_size=4)(x)
    assert out.shape == (8, 4, 4, 4) and torch.equal(out[:, :3], x)
    for group in (slice(0, 4), slice(4, 8)):
        expected = x[group].std(dim=0, unbiased=False).mean()
        assert torch.allclose(out[group, 3], expected.expand(4, 4, 4), atol=1e-6)
    assert not torch.allclose(out[0, 3], out[4, 3])
    # a batch the group size does not divide uses the largest divisor (6 -> groups of 3)
    out = MinibatchStd(group_size=4)(x[:6])
    expected = x[3:6].std(dim=0, unbiased=False).mean()
    assert torch.allclose(out[3:6, 3], expected.expand(3, 4, 4), atol=1e-6)


# -- losses, regularizers and optimizers ------------------------------------------------------
def test_lazy_r1_every_16_by_default_and_the_adam_rescaling():
    variant = tiny_variant(r1_gamma=0.5)
    (r1,) = variant.regularizers.items
    assert (r1.name, r1.options.every, r1.options.gamma) == ("r1", 16, 0.5)
    assert variant.options.loss == "bce" and StyleGAN2Options(name="stylegan2").betas == (0.0, 0.99)
    d, g = variant.optimizers["D"].param_groups[0], variant.optimizers["G"].param_groups[0]
    c = 16 / 17
    assert d["lr"] == pytest.approx(0.0025 * c) and d["betas"] == pytest.approx((0.0, 0.99 ** c))
    assert g["lr"] == 0.0025 and g["betas"] == (0.0, 0.99)  # no path length: G is not lazy
    # a user-listed r1 wins (and sets the rescaling); path length rescales G
    variant = tiny_variant(regularizers=[{"name": "r1", "gamma": 1.0, "every": 4}], pl_weight=2.0)
    assert [(r.name, r.options.every) for r in variant.regularizers.items] == [("r1", 4)]
    assert variant.optimizers["D"].param_groups[0]["lr"] == pytest.approx(0.0025 * 4 / 5)
    assert variant.optimizers["G"].param_groups[0]["lr"] == pytest.approx(0.0025 * 4 / 5)
    assert tiny_variant(r1_gamma=0.0).regularizers.items == []


def test_r1_runs_on_the_first_of_every_16_d_updates():
    torch.manual_seed(10)
    variant = tiny_variant(r1_gamma=1.0)
    ctx, batches = StepContext(torch.device("cpu")), real_batches()
    ctx.step_index = 1
    assert "reg/r1" not in variant.train_step(batches, ctx)
    ctx.step_index = 16
    assert float(variant.train_step(batches, ctx)["reg/r1"]) > 0


def test_path_length_penalty_is_positive_and_its_running_mean_updates():
    torch.manual_seed(11)
    variant = tiny_variant(pl_weight=2.0, pl_every=4, pl_decay=0.1)
    penalty = variant.path_length_penalty(torch.randn(4, 16))
    first_mean = float(variant.pl_mean)
    assert float(penalty.detach()) > 0 and first_mean > 0
    penalty.backward()  # second order: reaches G's parameters
    assert variant.G.mapping.layers[0].weight.grad.abs().sum() > 0
    ctx, batches = StepContext(torch.device("cpu")), real_batches()
    ctx.step_index = 4  # due: a path-length step
    logs = variant.train_step(batches, ctx)
    assert float(variant.pl_mean) != first_mean and float(logs["reg/pl"]) > 0
    due_mean = float(variant.pl_mean)
    ctx.step_index = 5  # not due
    variant.train_step(batches, ctx)
    assert float(variant.pl_mean) == due_mean
    assert "pl_mean" in variant.state_dict()  # a buffer: saved, so a resume is exact


def test_a_bf16_step_with_every_regularizer_stays_finite():
    torch.manual_seed(12)
    variant = tiny_variant(pl_weight=2.0, r1_gamma=1.0, style_mixing_prob=0.5)
    ctx = StepContext(torch.device("cpu"), precision="bf16")
    logs = variant.train_step(real_batches(), ctx)
    assert {"reg/r1", "reg/pl"} <= set(logs)
    assert all(math.isfinite(float(v)) for v in logs.values())
