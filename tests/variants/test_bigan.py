"""BiGAN/ALI and AAE (the variants that encode) and ``ganzoo encode``: training steps, the encoder
and reconstruction API, exact resume, refused options, and the command's inputs and outputs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.cli import main as cli
from ganzoo.config import config_from_dict
from ganzoo.data.walk import SkippedEntriesWarning
from ganzoo.data.base import DataInfo
from ganzoo.errors import GanzooError
from ganzoo.inference import load_run
from ganzoo.nets.bigan import JointDiscriminator
from ganzoo.testing import check_variant, tiny_config
from ganzoo.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")

SHAPES = {"name": "shapes", "image_size": 16, "size": 64}
INFO = DataInfo(name="shapes", kind="images", shape=(3, 16, 16), num_classes=5)
BIGAN = {"name": "bigan", "z_dim": 6, "ngf": 4, "ndf": 4, "nef": 4, "d_hidden": 8}
AAE = {"name": "aae", "z_dim": 3, "width": 4, "d_hidden": [8]}
AAE_LABELS = {**AAE, "prior": "mixture", "labels": True, "regularizers": ["gp"]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two-step tiny runs of bigan and aae (label-conditioned mixture prior, with a regularizer)."""
    out = {}
    for name, variant in (("bigan", BIGAN), ("aae", AAE_LABELS)):
        result = check_variant(variant, SHAPES, tmp_path_factory.mktemp(name), steps=2)
        assert {"loss_d", "loss_g"} <= set(result["losses"])
        out[name] = result
    assert "reg/gp" in out["aae"]["losses"] and "loss_recon" in out["aae"]["losses"]
    return out


@pytest.mark.parametrize("name", ["bigan", "aae"])
def test_encode_and_reconstruct_shapes_and_modes(runs, name):
    variant = runs[name]["trained"].variant
    assert variant.encodes
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    before = {k: v.clone() for k, v in variant.state_dict().items()}
    variant.train()
    codes = variant.encode(x)
    assert codes.shape == (5, variant.options.z_dim) and torch.isfinite(codes).all()
    assert torch.equal(codes, variant.encode(x))  # eval mode: deterministic, no batch statistics
    assert not torch.equal(codes[0], variant.encode(x[:1])[0] + 1)
    rec = variant.reconstruct(x)
    assert rec.shape == x.shape and rec.min() >= -1 and rec.max() <= 1
    assert torch.allclose(rec, variant.from_latent(codes))
    assert variant.training and variant.E.training  # modes given back
    for k, v in variant.state_dict().items():  # BatchNorm running statistics untouched
        assert torch.equal(v, before[k]), k


def test_joint_discriminator_reads_image_and_code_from_the_packed_pair():
    torch.manual_seed(0)
    D = JointDiscriminator(16, 3, 6, ndf=4, norm="none", hidden=8, dropout=0.0)
    x, z = torch.randn(4, 3, 16, 16), torch.randn(4, 6)
    pair = D.pack(x, z)
    assert pair.shape == (4, 3 * 16 * 16 + 6)
    base = D(pair)
    assert base.shape == (4,)
    assert not torch.allclose(D(D.pack(x, z + 1)), base)  # the code reaches the score
    assert not torch.allclose(D(D.pack(x.flip(0), z)), base)  # and so does the image
    # scores are per item: item 1 does not depend on item 0
    assert torch.allclose(D(D.pack(torch.cat([x[:1] * 0, x[1:]]), z))[1:], base[1:], atol=1e-6)


def test_aae_mixture_prior_and_label_conditioned_sampling(runs):
    variant = runs["aae"]["trained"].variant
    means = variant.prior_means
    assert means.shape == (5, 3)  # one component per shape class
    assert torch.allclose(means[:, :2].norm(dim=1), torch.full((5,), 4.0))
    g = torch.Generator().manual_seed(0)
    draws = variant.prior_draw(2000, torch.full((2000,), 2), generator=g)
    assert torch.allclose(draws.mean(0), means[2], atol=0.1)
    assert torch.allclose(draws.std(0), torch.ones(3), atol=0.1)
    samples = variant.sample(4, generator=g, labels=torch.tensor([0, 1, 2, 3]))
    assert samples.shape == (4, 3, 16, 16)


def test_refused_options_say_why_in_one_line():
    from ganzoo.variants.aae import AAE as AAEClass
    from ganzoo.variants.aae import AAEOptions
    from ganzoo.variants.bigan import BiGAN, BiGANOptions

    with pytest.raises(GanzooError, match="bcr works on images data, not points|'bcr' works on images"):
        BiGAN(BiGANOptions(**{**BIGAN, "regularizers": ["bcr"]}), INFO)
    with pytest.raises(ValueError, match="ada: null"):
        BiGANOptions(**{**BIGAN, "ada": {"target": 0.6}})
    with pytest.raises(ValueError, match="prior: mixture"):
        AAEOptions(**{**AAE, "labels": True})
    unlabelled = DataInfo(name="folder", kind="images", shape=(3, 16, 16))
    with pytest.raises(GanzooError, match="labelled data set"):
        AAEClass(AAEOptions(**{**AAE, "prior": "mixture", "labels": True}), unlabelled)


@pytest.mark.parametrize("variant", [BIGAN, AAE_LABELS], ids=["bigan", "aae"])
def test_resume_is_bit_identical(tmp_path, variant):
    cfg = tiny_config(variant, SHAPES, tmp_path / "runs", steps=4, batch_size=4)
    cfg["checkpoint"] = {"every": 2, "keep": 2}
    straight = train(config_from_dict(cfg)).run_dir
    ckpts = sorted((straight / "checkpoints").glob("step_*.pt"))
    assert [p.name for p in ckpts] == ["step_00000002.pt", "step_00000004.pt"]
    resumed = tmp_path / "resumed"
    shutil.copytree(straight, resumed)
    (resumed / "checkpoints" / ckpts[1].name).unlink()
    train(config_from_dict(cfg), run_dir=resumed, resume=True)
    a = torch.load(ckpts[1], weights_only=True)
    b = torch.load(resumed / "checkpoints" / ckpts[1].name, weights_only=True)
    half = torch.load(ckpts[0], weights_only=True)
    assert any(k.startswith("E.") for k in a["model"])  # the encoder is checkpointed
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), f"model.{k} differs after resume"
    assert not all(torch.equal(a["model"][k], half["model"][k]) for k in a["model"])
    for name in ("G", "D"):
        sa, sb = a["optimizers"][name]["state"], b["optimizers"][name]["state"]
        assert sa.keys() == sb.keys()
        for i in sa:
            assert torch.equal(sa[i]["exp_avg"], sb[i]["exp_avg"]), f"{name} state {i}"


# -- ganzoo encode ---------------------------------------------------------------------------
def _images(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):  # any size: resized and centre-cropped to the run's 16 px
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(folder / f"im{i}.png")
    return folder


def test_encode_writes_codes_for_a_folder_an_image_and_an_npz(runs, tmp_path, capsys):
    run_dir = str(runs["bigan"]["run_dir"])
    folder = _images(tmp_path / "imgs")
    out = tmp_path / "codes.npz"
    assert cli(["encode", run_dir, str(folder), "-o", str(out), "--reconstructions"]) == 0
    with np.load(out) as f:
        assert f["codes"].shape == (3, 6) and f["codes"].dtype == np.float32
        assert list(f["files"]) == ["im0.png", "im1.png", "im2.png"]
        assert f["reconstructions"].shape == (3, 3, 16, 16)
        codes = f["codes"]
    one = tmp_path / "one.npz"
    assert cli(["encode", run_dir, str(folder / "im1.png"), "-o", str(one)]) == 0
    with np.load(one) as f:
        assert np.allclose(f["codes"], codes[1:2], atol=1e-6)  # one image or many: the same code
    arrays = tmp_path / "in.npz"
    np.savez(arrays, images=np.zeros((5, 16, 16, 3), np.uint8), labels=np.arange(5))
    assert cli(["encode", run_dir, str(arrays), "-o", str(tmp_path / "from_npz")]) == 0
    with np.load(tmp_path / "from_npz.npz") as f:
        assert f["codes"].shape == (5, 6) and list(f["labels"]) == [0, 1, 2, 3, 4]


def test_encode_refuses_existing_output_and_variants_without_an_encoder(runs, tmp_path, capsys):
    folder = _images(tmp_path / "imgs", n=1)
    out = tmp_path / "codes.npz"
    out.write_bytes(b"keep me")
    capsys.readouterr()
    assert cli(["encode", str(runs["aae"]["run_dir"]), str(folder), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert out.read_bytes() == b"keep me" and "--force" in err and len(err.strip().splitlines()) == 1
    assert cli(["encode", str(runs["aae"]["run_dir"]), str(folder), "-o", str(out), "--force"]) == 0
    with np.load(out) as f:
        assert f["codes"].shape == (1, 3)
    dcgan = check_variant({"name": "dcgan", "z_dim": 4, "ngf": 4, "ndf": 4}, SHAPES, tmp_path / "d",
                          steps=1)
    capsys.readouterr()
    assert cli(["encode", str(dcgan["run_dir"]), str(folder), "-o", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert "has no encoder" in err and "bigan" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.npz").exists()


def test_encode_skips_entries_that_are_not_files_with_a_count(runs, tmp_path, capsys):
    import os

    folder = _images(tmp_path / "imgs", n=2)
    os.mkfifo(folder / "pipe.png")
    (folder / "loop.png").symlink_to(folder / "loop.png")
    out = tmp_path / "codes.npz"
    with pytest.warns(SkippedEntriesWarning, match="skipped 2 "):
        assert cli(["encode", str(runs["bigan"]["run_dir"]), str(folder), "-o", str(out)]) == 0
    with np.load(out) as f:
        assert f["codes"].shape == (2, 6)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(["encode", str(runs["bigan"]["run_dir"]), str(empty), "-o", str(tmp_path / "e.npz")]) == 2
    assert "no images" in capsys.readouterr().err
