"""The conditional GAN: smoke test, label dependence, per-class grids and the sampling CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganzoo.data.base import DataInfo
from ganzoo.errors import GanzooError
from ganzoo.inference import class_labels
from ganzoo.testing import check_variant
from ganzoo.variants.conditional import ConditionalGAN, ConditionalOptions

K = 3
SHAPES = {"name": "shapes", "image_size": 16, "size": 64, "num_classes": K}
TINY = {"name": "conditional", "z_dim": 8, "ngf": 8, "ndf": 8, "embed_dim": 4}
INFO = DataInfo(name="shapes", kind="images", shape=(3, 16, 16), num_classes=K)


def grid_side(n_per_side: int, image: int = 16, pad: int = 2) -> int:
    return n_per_side * (image + pad) + pad


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A 3-step projection run (bce), shared by the CLI tests."""
    out = check_variant(TINY, SHAPES, tmp_path_factory.mktemp("cond"))
    return out["run_dir"]


def test_projection_run_passes_smoke_test_and_previews_one_row_per_class(trained_run):
    # the trainer's grid tiles ceil(sqrt(N)) images per row: K x K images -> K rows of K
    with Image.open(trained_run / "samples" / "final.png") as img:
        assert img.size == (grid_side(K), grid_side(K))
    variant = ConditionalGAN(ConditionalOptions(**TINY), INFO)
    fixed = variant.fixed_inputs(64, torch.Generator().manual_seed(0), {})
    assert fixed["labels"].view(K, K).tolist() == [[k] * K for k in range(K)]
    assert variant.preview(fixed).shape == (K * K, 3, 16, 16)


def test_concat_d_multiply_g_hinge_spectral_norm_runs(tmp_path):
    out = check_variant({**TINY, "d_conditioning": "concat", "g_conditioning": "multiply",
                         "loss": "hinge", "spectral_norm": True, "d_norm": "none"}, SHAPES, tmp_path)
    assert set(out["losses"]) == {"loss_d", "loss_g"}


# cbn starts with every class's gains near 1 and biases at 0, and concat's label embedding starts
# at std 0.1 (a larger one let G squeeze z out: see ganzoo.nets.conditional), so classes differ
# less at first
MIN_RATIO = {"concat": 0.01, "multiply": 0.1, "cbn": 0.01}


@pytest.mark.parametrize("g_cond", ["concat", "multiply", "cbn"])
@pytest.mark.parametrize("d_cond", ["projection", "concat"])
def test_outputs_depend_on_the_label(g_cond, d_cond):
    torch.manual_seed(0)
    variant = ConditionalGAN(ConditionalOptions(**{**TINY, "g_conditioning": g_cond,
                                                   "d_conditioning": d_cond}), INFO).eval()
    z = variant.G.sample_latent(6, generator=torch.Generator().manual_seed(1))
    other_z = variant.G.sample_latent(6, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        per_class = [variant.G(z, torch.full((6,), k)) for k in range(K)]
        assert torch.equal(per_class[0], variant.G(z, torch.zeros(6, dtype=torch.long)))
        # the untrained G's outputs are small, so compare with what changing z does
        z_change = (per_class[0] - variant.G(other_z, torch.zeros(6, dtype=torch.long))).flatten(1).norm(dim=1)
        for a in range(K):
            for b in range(a + 1, K):
                # every one of the 6 images changes markedly when only the label changes
                ratio = (per_class[a] - per_class[b]).flatten(1).norm(dim=1) / z_change
                assert (ratio > MIN_RATIO[g_cond]).all(), (a, b, ratio)
        x = per_class[0]
        scores = [variant.D(x, torch.full((6,), k)) for k in range(K)]
        assert not torch.allclose(scores[0], scores[1]) and not torch.allclose(scores[1], scores[2])
    samples = variant.sample(6, generator=torch.Generator().manual_seed(1), labels=torch.full((6,), 2))
    assert torch.allclose(samples, per_class[2])


def test_sample_defaults_to_balanced_classes_and_rejects_bad_labels():
    variant = ConditionalGAN(ConditionalOptions(**TINY), INFO)
    z_gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    balanced = variant.sample(6, generator=z_gen())
    explicit = variant.sample(6, generator=z_gen(), labels=torch.tensor([0, 1, 2, 0, 1, 2]))
    assert torch.equal(balanced, explicit)
    with pytest.raises(GanzooError, match=r"0\.\.2"):
        variant.sample(2, labels=torch.tensor([0, 3]))


def test_unlabelled_data_is_a_clear_error():
    info = DataInfo(name="my_faces", kind="images", shape=(3, 16, 16))
    with pytest.raises(GanzooError, match="my_faces") as err:
        ConditionalGAN(ConditionalOptions(**TINY), info)
    assert "labelled" in str(err.value) and "\n" not in str(err.value)


def test_default_class_labels_give_one_row_per_class():
    for n, k in [(64, 5), (64, 10), (7, 3), (2, 5), (10, 10)]:
        labels = class_labels(n, k, None, "cpu")
        per_row = -(-n // k)
        rows = [labels[i:i + per_row].tolist() for i in range(0, n, per_row)]
        assert all(len(set(r)) == 1 for r in rows)            # a row holds one class
        assert [r[0] for r in rows] == list(range(len(rows)))  # rows are classes 0, 1, ...
        assert len(rows) == min(n, k)


def _sample_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", "sample", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_samples_one_class_to_png(trained_run, tmp_path):
    out = tmp_path / "c1.png"
    done = _sample_cli(str(trained_run), "--class", "1", "-n", "4", "-o", str(out))
    assert done.returncode == 0, done.stderr
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == (grid_side(2), grid_side(2))


def test_cli_default_grid_has_one_row_per_class(trained_run, tmp_path):
    out = tmp_path / "all.png"
    done = _sample_cli(str(trained_run), "-n", "7", "-o", str(out))  # 3 + 3 + 1 per class
    assert done.returncode == 0, done.stderr
    with Image.open(out) as img:
        assert img.size == (grid_side(3), grid_side(K))


def test_cli_out_of_range_class_is_a_one_line_error(trained_run, tmp_path):
    done = _sample_cli(str(trained_run), "--class", str(K), "-o", str(tmp_path / "x.png"))
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(lines) == 1 and f"--class {K}" in lines[0] and "out of range" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()
