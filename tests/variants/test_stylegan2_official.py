"""StyleGAN2 with the official-layout options (what ``ganzoo import`` sets) and labels: it trains,
checkpoints and reloads like any variant, and each option changes the networks' output."""

from __future__ import annotations

import torch

from ganzoo.nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
from ganzoo.testing import check_variant
from ganzoo.variants.stylegan2 import StyleGAN2Conditional

OFFICIAL = {"resample": "fir", "stored_noise": True, "conv_clamp": 0.5, "fp16_res": 1,
            "mbstd_grouping": "strided", "truncation_cutoff": 2, "d_mapping_layers": 2}
TINY = {"z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 64, "channel_max": 8,
        "mbstd_group": 2, "style_mixing_prob": 0.5}


def test_conditional_official_layout_trains_and_reloads(tmp_path, monkeypatch, one_thread):
    monkeypatch.setattr(StyleGAN2Conditional, "default_ema", None)
    seen = check_variant({"name": "stylegan2_conditional", **TINY, **OFFICIAL},
                         {"name": "shapes", "image_size": 16, "size": 32}, tmp_path, steps=2)
    variant = seen["trained"].variant
    assert variant.G.c_dim == variant.D.c_dim == variant.c_dim > 0
    assert any(k.endswith("fixed_noise") for k in variant.G.state_dict())  # stored noise maps
    images = variant.sample(4, labels=torch.tensor([0, 1, 0, 1]))
    assert images.shape == (4, 3, 16, 16)
    # the public loader takes ganzoo's own run folders (and their exports) as it takes imports
    import ganzoo
    from ganzoo.cli import main

    assert main(["export", str(seen["run_dir"]), "-o", str(tmp_path / "exported")]) == 0
    z, labels = torch.randn(3, 8), torch.tensor([0, 1, 1])
    with torch.no_grad():
        from_run = ganzoo.load_generator(seen["run_dir"])(z, labels, truncation_psi=0.7)
        from_export = ganzoo.load_generator(tmp_path / "exported")(z, labels, truncation_psi=0.7)
        direct = variant.G.eval()(z, labels, truncation_psi=0.7, noise_mode="const")
    assert torch.equal(from_run, from_export) and torch.equal(from_run, direct)


def test_each_official_option_changes_the_output(one_thread):
    torch.manual_seed(0)
    z, labels = torch.randn(4, 8), torch.tensor([0, 1, 2, 0])
    base = dict(mapping_layers=2, channel_base=64, channel_max=8, c_dim=3)
    reference = StyleGAN2Generator(8, 8, 16, 3, **base).eval()
    state = reference.state_dict()
    with torch.no_grad():
        out = reference(z, labels, truncation_psi=0.5)
        for option in ({"resample": "fir"}, {"conv_clamp": 0.1}, {"truncation_cutoff": 1}):
            other = StyleGAN2Generator(8, 8, 16, 3, **base, **option).eval()
            other.load_state_dict(state)
            assert (other(z, labels, truncation_psi=0.5) - out).abs().max() > 1e-3, option
        d = StyleGAN2Discriminator(16, 3, channel_base=64, channel_max=8, mbstd_group=2, c_dim=3).eval()
        strided = StyleGAN2Discriminator(16, 3, channel_base=64, channel_max=8, mbstd_group=2, c_dim=3,
                                         mbstd_grouping="strided").eval()
        strided.load_state_dict(d.state_dict())
        x = torch.randn(4, 3, 16, 16)
        assert (d(x, labels) - strided(x, labels)).abs().max() > 1e-6
