"""Latent tools: slerp/lerp paths, soft class labels, the truncation trick and interpolation strips.

Tiny networks built in the test (no training): every check compares against the generator itself
at the codes or classes the path should start and end at.
"""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.data.base import DataInfo
from ganzoo.errors import GanzooError
from ganzoo.latent import (check_interpolation, check_truncation, class_path, interpolation_frames,
                           interpolation_inputs, lerp, slerp)
from ganzoo.nets.biggan import BigGANGenerator
from ganzoo.nets.conditional import ConditionalDCGANGenerator, embed_labels
from ganzoo.variants.biggan import BigGAN, BigGANOptions
from ganzoo.variants.conditional import ConditionalGAN, ConditionalOptions
from ganzoo.variants.cyclegan import CycleGAN
from ganzoo.variants.dcgan import DCGAN, DCGANOptions
from ganzoo.variants.stylegan2 import StyleGAN2, StyleGAN2Options
from ganzoo.variants.vae import VAE, VAEOptions

K = 3
INFO16 = DataInfo(name="shapes", kind="images", shape=(3, 16, 16), num_classes=K)
INFO32 = DataInfo(name="shapes", kind="images", shape=(3, 32, 32), num_classes=K)
UNLABELLED = DataInfo(name="shapes", kind="images", shape=(3, 16, 16))


pytestmark = pytest.mark.usefixtures("one_thread")


def busy_batchnorm(variant):
    """Non-trivial running statistics, so eval-mode BatchNorm is not the identity, and weights
    far from DCGAN's N(0, 0.02) init, so that codes and classes visibly change the images."""
    torch.manual_seed(1)
    for m in variant.generator_net().modules():
        if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Embedding)):
            m.weight.data.normal_(0.0, 0.3)
    for m in variant.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 1.5)
    return variant.eval()


def dcgan():
    torch.manual_seed(0)
    return busy_batchnorm(DCGAN(DCGANOptions(name="dcgan", z_dim=8, ngf=4, ndf=4), UNLABELLED))


def conditional(g_conditioning="concat"):
    torch.manual_seed(0)
    opts = ConditionalOptions(name="conditional", z_dim=8, ngf=4, ndf=4, embed_dim=4,
                              g_conditioning=g_conditioning)
    return busy_batchnorm(ConditionalGAN(opts, INFO16))


def stylegan2():
    torch.manual_seed(0)
    opts = StyleGAN2Options(name="stylegan2", z_dim=8, w_dim=8, mapping_layers=2, channel_base=64,
                            channel_max=8)
    variant = StyleGAN2(opts, UNLABELLED).eval()
    variant.G.w_avg.copy_(torch.randn(8))  # as if trained: truncation pulls towards it
    for layer in variant.G.synthesis.layers:  # noise on: the fixed eval-mode maps must matter
        layer.noise_strength.data.fill_(0.3)
    return variant


def biggan():
    torch.manual_seed(0)
    opts = BigGANOptions(name="biggan", z_dim=8, g_ch=4, d_ch=4, shared_dim=6, attention_resolution=16)
    return busy_batchnorm(BigGAN(opts, INFO32))


# -- paths ----------------------------------------------------------------------------------------
def test_slerp_moves_the_norm_in_a_straight_line_and_the_direction_on_the_great_circle():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 64, generator=g), 1.5 * torch.randn(5, 64, generator=g)
    t = torch.linspace(0, 1, 9)
    path = slerp(a, b, t)
    assert path.shape == (5, 9, 64)
    assert torch.equal(path[:, 0], a) and torch.equal(path[:, -1], b)
    norms = path.norm(dim=-1)
    expected = torch.lerp(a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True), t)
    assert torch.allclose(norms, expected, rtol=1e-5)
    unit = path / norms[..., None]
    ua, ub = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.arccos((ua * ub).sum(1))
    from_a = torch.arccos((unit * ua[:, None]).sum(-1).clamp(-1, 1))
    assert torch.allclose(from_a, t[None] * omega[:, None], atol=1e-3)  # constant angular speed
    # the straight line passes far inside the shell where Gaussian codes live; slerp does not
    assert (lerp(a, b, t).norm(dim=-1)[:, 4] < 0.9 * norms[:, 4]).all()


def test_slerp_of_parallel_codes_is_finite_and_stays_on_the_ray():
    a = torch.randn(2, 16)
    path = slerp(a, 3 * a, torch.linspace(0, 1, 5))
    assert torch.isfinite(path).all()
    assert torch.allclose(path[:, 2], 2 * a, atol=1e-5)


def test_lerp_and_class_path_are_exact_at_both_ends():
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    path = lerp(a, b, torch.linspace(0, 1, 7))
    assert torch.equal(path[:, 0], a) and torch.equal(path[:, -1], b)
    weights = class_path(0, 2, 5, K)
    assert torch.equal(weights[0], torch.tensor([1.0, 0, 0])) and torch.equal(weights[-1], torch.tensor([0, 0, 1.0]))
    assert torch.allclose(weights.sum(1), torch.ones(5)) and torch.allclose(weights[2], torch.tensor([0.5, 0, 0.5]))


# -- soft labels ----------------------------------------------------------------------------------
@pytest.mark.parametrize("conditioning", ["concat", "multiply", "cbn"])
def test_conditional_generator_takes_class_weights_one_hot_giving_the_int_label_output(conditioning):
    G = conditional(conditioning).G
    z, y = torch.randn(6, 8), torch.tensor([0, 1, 2, 2, 1, 0])
    with torch.no_grad():
        assert torch.allclose(G(z, torch.eye(K)[y]), G(z, y), atol=1e-6)
        mixed = G(z, torch.full((6, K), 1 / K))
    assert (mixed - G(z, y)).abs().max() > 1e-3  # a mix is a different image, not a pure class


def test_class_weights_mix_the_embedding_rows():
    G = conditional("concat").G
    weights = torch.tensor([[0.25, 0.75, 0.0]])
    assert torch.allclose(embed_labels(G.embed, weights), 0.25 * G.embed.weight[0] + 0.75 * G.embed.weight[1])
    with torch.no_grad():
        manual = G.trunk(torch.cat([torch.zeros(1, 8), weights @ G.embed.weight], dim=1))
        assert torch.allclose(G(torch.zeros(1, 8), weights), manual, atol=1e-6)


def test_biggan_generator_takes_class_weights_through_its_shared_embedding():
    G = biggan().G
    z, y = torch.randn(3, 8), torch.tensor([2, 0, 1])
    with torch.no_grad():
        assert torch.allclose(G(z, torch.eye(K)[y]), G(z, y), atol=1e-6)
    assert isinstance(G, BigGANGenerator)
    with pytest.raises(ValueError, match="3 classes"):
        embed_labels(G.shared, torch.ones(1, 4))


# -- truncation -----------------------------------------------------------------------------------
def test_stylegan2_psi_zero_draws_the_average_w_image_and_psi_one_is_plain_sampling():
    variant = stylegan2()
    mean = variant.sample_truncated(4, 0.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(mean, mean[:1].expand_as(mean))
    with torch.no_grad():
        at_avg = variant.G.synthesis_from_w(variant.G.w_avg[None]).clamp(-1, 1)
    assert torch.allclose(mean[:1], at_avg, atol=1e-6)
    plain = variant.sample(4, generator=torch.Generator().manual_seed(3))
    assert torch.equal(variant.sample_truncated(4, 1.0, generator=torch.Generator().manual_seed(3)), plain)
    assert (plain[0] - plain[1]).abs().max() > 1e-3  # samples do differ without truncation


def test_biggan_truncated_codes_never_pass_the_threshold_and_feed_sample_truncated():
    variant = biggan()
    z = variant.latent_codes(400, torch.Generator().manual_seed(0), psi=0.4)
    assert z.abs().max() <= 0.4 and z.abs().max() > 0.3
    images = variant.sample_truncated(3, 0.4, generator=torch.Generator().manual_seed(5),
                                      labels=torch.tensor([0, 1, 2]))
    codes = variant.latent_codes(3, torch.Generator().manual_seed(5), psi=0.4)
    assert torch.equal(images, variant.from_latent(codes, torch.tensor([0, 1, 2])))


def test_truncation_values_are_range_checked_per_kind():
    assert check_truncation("stylegan2", StyleGAN2.truncation, 0.0) == 0.0
    assert check_truncation("biggan", BigGAN.truncation, 2.5) == 2.5
    for name, kind, psi, words in (("stylegan2", "w", 1.5, "[0, 1]"), ("stylegan2", "w", -0.1, "[0, 1]"),
                                   ("biggan", "z", 0.0, "positive"), ("biggan", "z", math.inf, "positive"),
                                   ("biggan", "z", math.nan, "positive"), ("dcgan", DCGAN.truncation, 0.5,
                                                                           "no truncation trick")):
        with pytest.raises(GanzooError, match=words.replace("[", r"\[").replace("]", r"\]")):
            check_truncation(name, kind, psi)


# -- interpolation strips -------------------------------------------------------------------------
def frames_and_ends(variant, info, rows=2, steps=5, psi=None, classes=None):
    frames = interpolation_frames(variant, info, rows, steps, torch.Generator().manual_seed(7), psi, classes)
    codes, labels, ends = interpolation_inputs(variant, info, rows, steps, torch.Generator().manual_seed(7),
                                               psi, classes)
    return frames, codes, labels, ends


@pytest.mark.parametrize("make,info,psi", [(dcgan, UNLABELLED, None), (stylegan2, UNLABELLED, 0.7),
                                           (conditional, INFO16, None), (biggan, INFO32, 0.8)])
def test_first_and_last_frames_are_the_samples_at_the_end_codes(make, info, psi):
    variant, rows, steps = make(), 2, 5
    frames, codes, labels, ends = frames_and_ends(variant, info, rows, steps, psi)
    assert frames.shape == (rows * steps, *info.shape)
    for r in range(rows):
        label = None if labels is None else labels[r * steps:r * steps + 1]
        first = variant.from_latent(ends[r:r + 1], label)
        last = variant.from_latent(ends[rows + r:rows + r + 1], label)
        assert torch.allclose(frames[r * steps], first[0], atol=1e-5)
        assert torch.allclose(frames[r * steps + steps - 1], last[0], atol=1e-5)
        assert (frames[r * steps + 2] - first[0]).abs().max() > 1e-4  # the middle moves
    space_path = lerp if variant.interpolation_space == "w" else slerp
    expected = space_path(ends[:rows], ends[rows:], torch.linspace(0, 1, steps)).reshape(rows * steps, -1)
    assert torch.allclose(codes, expected)


def test_stylegan2_interpolates_truncated_ws_in_a_straight_line():
    variant = stylegan2()
    _, codes, _, ends = frames_and_ends(variant, UNLABELLED, rows=1, steps=3, psi=0.5)
    assert torch.allclose(codes[1], (ends[0] + ends[1]) / 2, atol=1e-6)
    with torch.no_grad():
        z = variant.G.sample_latent(2, generator=torch.Generator().manual_seed(7))
        assert torch.allclose(ends, variant.G.w_from_z(z, 0.5))


@pytest.mark.parametrize("make,info", [(lambda: conditional("cbn"), INFO16), (conditional, INFO16),
                                       (biggan, INFO32)])
def test_class_interpolation_ends_are_the_pure_class_samples(make, info):
    variant, rows, steps = make(), 2, 4
    frames, _, weights, ends = frames_and_ends(variant, info, rows, steps, classes=[1, 2])
    for r in range(rows):
        pure_first = variant.from_latent(ends[r:r + 1], torch.tensor([1]))
        pure_last = variant.from_latent(ends[r:r + 1], torch.tensor([2]))
        assert torch.allclose(frames[r * steps], pure_first[0], atol=1e-5)
        assert torch.allclose(frames[r * steps + steps - 1], pure_last[0], atol=1e-5)
        assert (pure_first - pure_last).abs().max() > 1e-3  # the two classes differ
    assert torch.equal(weights[:steps], class_path(1, 2, steps, K))


def test_interpolation_is_refused_where_it_does_not_apply():
    points = DataInfo(name="ring", kind="points", shape=(2,))
    cases = [(CycleGAN, "cyclegan", INFO16, None, "translate"),
             (DCGAN, "vanilla", points, None, "points"),
             (DCGAN, "dcgan", UNLABELLED, [0, 1], "conditional run"),
             (ConditionalGAN, "conditional", INFO16, [0, 3], "out of range")]
    for cls, name, info, classes, words in cases:
        with pytest.raises(GanzooError, match=words):
            check_interpolation(cls, name, info, classes)
    check_interpolation(VAE, "vae", UNLABELLED, None)  # a VAE decoder interpolates in z


def test_vae_decoder_interpolates_between_prior_codes():
    torch.manual_seed(0)
    variant = VAE(VAEOptions(name="vae", z_dim=4, width=4), UNLABELLED).eval()
    frames, _, _, ends = frames_and_ends(variant, UNLABELLED, rows=1, steps=3)
    assert torch.allclose(frames[0], variant.from_latent(ends[:1])[0], atol=1e-6)
    assert torch.allclose(frames[2], variant.from_latent(ends[1:])[0], atol=1e-6)
