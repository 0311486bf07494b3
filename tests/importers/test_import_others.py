"""``ganzoo import`` of pytorch-pretrained-biggan folders and rosinality StyleGAN2 checkpoints.

BigGAN: the package's own BigGAN, built from a small config with random weights and saved as
the package saves models (pytorch_model.bin + config.json), is the reference (no download).
rosinality: reference images from that project's generator (tools/make_rosinality_fixture.py, at
development time) for the weights ``fixture_weights`` draws, saved here as its checkpoints are.
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from nvidia_format import fixture_weights, load_fixture

import ganzoo
from ganzoo.cli import main

TOL = 1e-4


def biggan_model(folder):
    """A small BigGAN-deep of the package with random weights whose spectral norms are real
    (u, v the top singular vectors), saved like the package's models."""
    ppb = pytest.importorskip("pytorch_pretrained_biggan")
    config = ppb.BigGANConfig(output_dim=32, z_dim=8, class_embed_dim=8, channel_width=4, num_classes=5,
                              layers=[(False, 16, 16), (True, 16, 8), (True, 8, 4), (False, 4, 2), (True, 2, 1)],
                              attention_layer_position=2, eps=1e-4, n_stats=51)
    model = ppb.BigGAN(config).eval()
    gen, state = torch.Generator().manual_seed(1), model.state_dict()
    for key, value in state.items():
        r = torch.randn(value.shape, generator=gen)
        if key.endswith("running_vars"):
            r = r.abs() + 0.5
        elif key.endswith(("running_means", "bias")) or ".scale." in key or ".offset." in key:
            r = r * 0.1
        elif key.endswith("gamma"):
            r = r * 0.5 + 1.0
        value.copy_(r)
    for key in [k for k in state if k.endswith("weight_orig")]:
        u, _, vh = torch.linalg.svd(state[key].reshape(state[key].shape[0], -1), full_matrices=False)
        state[key[:-5] + "_u"].copy_(u[:, 0] * 1.01)
        state[key[:-5] + "_v"].copy_(vh[0])
    folder.mkdir()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "config.json").write_text(config.to_json_string())
    return model


def test_biggan_hf_matches_the_package(tmp_path, one_thread):
    model = biggan_model(tmp_path / "biggan")
    assert main(["import", str(tmp_path / "biggan"), "-o", str(tmp_path / "out")]) == 0
    G = ganzoo.load_generator(tmp_path / "out")
    z, labels = torch.randn(4, 8, generator=torch.Generator().manual_seed(2)), torch.tensor([0, 1, 4, 2])
    onehot = torch.nn.functional.one_hot(labels, 5).float()
    with torch.no_grad():
        for psi in (1.0, 0.4):  # 0.4 blends two rows of the stored BatchNorm statistics
            ours = G(z, labels) if psi == 1.0 else G.net(z, labels, psi)
            reference = model(z, onehot, psi)
            assert (ours - reference).abs().max() <= TOL
        assert (G(z, labels) - model(z, onehot, 0.4)).abs().max() > 1e-2
    card = (tmp_path / "out" / "README.md").read_text()
    assert "biggan-hf" in card and "Apache-2.0" in card
    # the weights file alone (config.json beside it) imports the same
    assert main(["import", str(tmp_path / "biggan" / "pytorch_model.bin"), "-o", str(tmp_path / "out2"),
                 "--format", "biggan-hf"]) == 0


def test_rosinality_matches_its_generator(tmp_path, one_thread):
    fixture = load_fixture("rosinality")
    tensors = fixture["structure"]["tensors"]
    weights = fixture_weights(tensors, fixture["structure"]["seed"])
    latent_avg = weights.pop("latent_avg")
    ckpt = tmp_path / "550000.pt"
    torch.save({"g_ema": weights, "latent_avg": latent_avg, "args": argparse.Namespace(size=8)}, ckpt)
    assert main(["import", str(ckpt), "-o", str(tmp_path / "out")]) == 0
    G = ganzoo.load_generator(tmp_path / "out")
    z = torch.from_numpy(fixture["z"])
    with torch.no_grad():
        for tag, psi in (("1", 1.0), ("07", 0.7)):
            images = G(z, truncation_psi=psi, noise_mode="const").numpy()
            assert np.abs(images - fixture[f"img_{tag}"]).max() <= TOL
    assert np.abs(fixture["img_1"] - fixture["img_07"]).max() > 1e-2
    assert np.abs(fixture["img_1"][0] - fixture["img_1"][1]).max() > 1e-2


def test_rosinality_without_latent_avg_estimates_it(tmp_path, capsys, one_thread):
    fixture = load_fixture("rosinality")
    weights = fixture_weights(fixture["structure"]["tensors"], fixture["structure"]["seed"])
    weights.pop("latent_avg")
    torch.save({"g_ema": weights}, tmp_path / "g.pt")
    assert main(["import", str(tmp_path / "g.pt"), "-o", str(tmp_path / "out")]) == 0
    assert "estimated from 10 000 mapped z" in (tmp_path / "out" / "README.md").read_text()
    torch.save({"model": weights}, tmp_path / "other.pt")
    assert main(["import", str(tmp_path / "other.pt"), "-o", str(tmp_path / "out2")]) == 2
    assert "cannot tell its format" in capsys.readouterr().err


def test_the_command_offers_every_format_the_importers_read():
    from ganzoo.commands.import_ import FORMATS as offered
    from ganzoo.importers import FORMATS as read

    assert offered == read
