"""``ganzoo export``: the folder's files, sampling it like the run, traced programs equal to the
eager generator (TorchScript, and ONNX through onnxruntime), refusals and atomic replacement."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.cli import main
from ganzoo.config import config_from_dict
from ganzoo.data.base import DataInfo
from ganzoo.errors import GanzooError
from ganzoo.export import (CARD, CONFIG, DATA_INFO, MANIFEST, ONNX, TORCHSCRIPT, WEIGHTS, example_inputs,
                           load_weights, program_files)
from ganzoo.inference import load_export, load_run
from ganzoo.testing import tiny_config
from ganzoo.trainer import train
from ganzoo.variants.biggan import BigGAN, BigGANOptions
from ganzoo.variants.conditional import ConditionalGAN, ConditionalOptions
from ganzoo.variants.dcgan import DCGAN, DCGANOptions
from ganzoo.variants.stylegan2 import StyleGAN2, StyleGAN2Options

K = 3
SHAPES = {"name": "shapes", "image_size": 16, "size": 64, "num_classes": K}
DCGAN_TINY = {"name": "dcgan", "z_dim": 8, "ngf": 4, "ndf": 4}
COND_TINY = {"name": "conditional", "z_dim": 8, "ngf": 4, "ndf": 4, "embed_dim": 4, "g_conditioning": "cbn"}


pytestmark = pytest.mark.usefixtures("one_thread")


def cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def trained(root: Path, variant: dict, data: dict, name: str, **sections) -> Path:
    cfg = tiny_config(variant, data, root / "runs", steps=2, **sections)
    cfg["run"]["name"] = name
    return train(config_from_dict(cfg)).run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two-step runs: DCGAN with a generator average, and a conditional GAN."""
    root = tmp_path_factory.mktemp("export-runs")
    return {"dcgan": trained(root, DCGAN_TINY, SHAPES, "dcgan", ema={"decay": 0.5, "start": 0}),
            "conditional": trained(root, COND_TINY, SHAPES, "cond")}


def sample_npz(folder: Path, out: Path, *extra: str) -> np.ndarray:
    code, err = cli("sample", folder, "-n", 6, "-o", out.with_suffix(".png"), "--npz", out, "--seed", 3, *extra)
    assert code == 0, err
    with np.load(out) as f:
        return f["samples"]


# -- the folder -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,extra", [("dcgan", ()), ("conditional", ("--class", "2")), ("conditional", ())])
def test_exported_folder_samples_exactly_like_its_run(runs, tmp_path, kind, extra):
    out = tmp_path / "shared"
    code, err = cli("export", runs[kind], "-o", out)
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == {WEIGHTS, CONFIG, DATA_INFO, MANIFEST, CARD}
    from_run = sample_npz(runs[kind], tmp_path / "run.npz", *extra)
    from_export = sample_npz(out, tmp_path / "export.npz", *extra)
    assert np.array_equal(from_run, from_export)
    assert np.abs(from_run[0] - from_run[1]).max() > 0  # not a constant generator
    assert not list(tmp_path.glob(".*"))  # no temporary folder left behind


def test_weights_are_the_generator_average_and_the_card_says_so(runs, tmp_path):
    out = tmp_path / "shared"
    assert cli("export", runs["dcgan"], "-o", out)[0] == 0
    ckpt = torch.load(sorted((runs["dcgan"] / "checkpoints").glob("step_*.pt"))[-1], weights_only=True)
    weights = load_weights(out / WEIGHTS)
    assert weights.keys() == ckpt["ema"].keys()
    assert all(torch.equal(weights[k], ckpt["ema"][k]) for k in weights)
    live = {k[len("G."):]: v for k, v in ckpt["model"].items() if k.startswith("G.")}
    assert any(not torch.equal(weights[k], live[k]) for k in weights)  # the average, not G itself
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["weights"] == "ema" and manifest["step"] == 2 and manifest["variant"] == "dcgan"
    card = (out / CARD).read_text()
    assert "moving average (EMA)" in card and f"ganzoo sample {out} -n 16 -o grid.png" in card
    info = json.loads((out / DATA_INFO).read_text())
    assert info["shape"] == [3, 16, 16] and info["num_classes"] == K and "root" not in info["extras"]


@pytest.mark.filterwarnings("ignore:FID estimate is biased")  # 30 samples in 768 dimensions
def test_model_card_lists_the_runs_scores_with_their_protocol(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["conditional"], run)
    code, err = cli("eval", run, "--metrics", "fid,intra_fid", "--extractor", "raw", "-n", 30, "--seed", 4)
    assert code == 0, err
    out = tmp_path / "shared"
    assert cli("export", run, "-o", out)[0] == 0
    card = (out / CARD).read_text()
    records = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    for r in records:
        row = next(line for line in card.splitlines() if line.startswith(f"| {r['metric']} |"))
        assert f"{r['value']:.6g}" in row and "raw" in row and "30 / 30" in row and "eval.jsonl" in row
        assert f"| {r['protocol']['seed']} |" in row


def test_exported_folder_needs_neither_the_data_nor_the_checkpoints(tmp_path):
    images = tmp_path / "pictures"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(images / f"{i}.png")
    run = trained(tmp_path, DCGAN_TINY, {"name": "image_folder", "root": str(images), "image_size": 16},
                  "folder-run")
    out = tmp_path / "shared"
    assert cli("export", run, "-o", out)[0] == 0
    expected = sample_npz(run, tmp_path / "a.npz")
    shutil.rmtree(images)
    shutil.rmtree(run)
    assert np.array_equal(sample_npz(out, tmp_path / "b.npz"), expected)
    assert load_export(out).info.name == "image_folder"


# -- refusals and replacing -----------------------------------------------------------------------
def test_a_non_empty_folder_is_refused_and_force_replaces_only_an_earlier_export(runs, tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    for args in ((), ("--force",)):
        code, err = cli("export", runs["dcgan"], "-o", other, *args)
        assert code == 2 and err.count("\n") == 1 and "notes" in err
        assert (other / "keep.txt").read_text() == "mine" and len(list(other.iterdir())) == 1
    out = tmp_path / "shared"
    assert cli("export", runs["dcgan"], "-o", out)[0] == 0
    code, err = cli("export", runs["conditional"], "-o", out)
    assert code == 2 and "--force" in err and json.loads((out / MANIFEST).read_text())["variant"] == "dcgan"
    assert cli("export", runs["conditional"], "-o", out, "--force")[0] == 0
    assert json.loads((out / MANIFEST).read_text())["variant"] == "conditional"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "shared"]  # nothing left aside


def test_bad_exported_folders_get_one_line(runs, tmp_path):
    out = tmp_path / "shared"
    assert cli("export", runs["dcgan"], "-o", out)[0] == 0
    weights = (out / WEIGHTS).read_bytes()
    (out / WEIGHTS).write_bytes(weights[:-8] + b"\0" * 8)
    code, err = cli("sample", out, "-o", tmp_path / "g.png")
    assert code == 2 and "SHA-256" in err and err.count("\n") == 1
    (out / WEIGHTS).write_bytes(b"not safetensors")
    (out / MANIFEST).unlink()
    code, err = cli("sample", out, "-o", tmp_path / "g.png")
    assert code == 2 and "safetensors" in err and err.count("\n") == 1
    code, err = cli("sample", tmp_path, "-o", tmp_path / "g.png")
    assert code == 2 and "neither a run folder" in err
    code, err = cli("export", runs["dcgan"], "-o", tmp_path / "x", "--format", "tflite")
    assert code == 2 and "tflite" in err
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "x").exists()


# -- traced programs ------------------------------------------------------------------------------
def tiny(kind: str):
    torch.manual_seed(0)
    info16 = DataInfo(name="shapes", kind="images", shape=(3, 16, 16), num_classes=K)
    if kind == "dcgan":
        return DCGAN(DCGANOptions(**DCGAN_TINY), info16), info16
    if kind == "conditional":
        return ConditionalGAN(ConditionalOptions(**COND_TINY), info16), info16
    if kind == "stylegan2":  # modulated convs: per-sample styles, one ordinary batched conv
        opts = StyleGAN2Options(name="stylegan2", z_dim=8, w_dim=8, mapping_layers=2, channel_base=32,
                                channel_max=8)
        info8 = DataInfo(name="shapes", kind="images", shape=(3, 8, 8))
        variant = StyleGAN2(opts, info8)
        for layer in variant.G.synthesis.layers:  # the fixed eval-mode noise maps must be exported
            layer.noise_strength.data.fill_(0.5)
        return variant, info8
    info32 = DataInfo(name="shapes", kind="images", shape=(3, 32, 32), num_classes=K)
    return BigGAN(BigGANOptions(name="biggan", z_dim=8, g_ch=4, d_ch=4, shared_dim=6), info32), info32


@pytest.mark.parametrize("kind", ["dcgan", "conditional", "stylegan2", "biggan"])
def test_torchscript_and_onnx_programs_give_the_eager_generators_images(kind):
    import onnxruntime

    variant, info = tiny(kind)
    for m in variant.modules():  # BatchNorm with real running statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    variant.eval()
    files, checks = program_files(variant, info, ["torchscript", "onnx"])
    assert set(files) == {TORCHSCRIPT, ONNX} and max(checks.values()) <= 1e-5
    inputs = example_inputs(variant, info, 5, seed=9)  # another batch size than the traced one
    with torch.no_grad():
        eager = variant.generator_net()(*inputs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated
            scripted = torch.jit.load(io.BytesIO(files[TORCHSCRIPT]))(*inputs)
    session = onnxruntime.InferenceSession(files[ONNX], providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == ["z", "labels"][:len(inputs)]
    onnx_out = session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})[0]
    assert eager.shape == (5, *info.shape) and eager.std() > 1e-3
    assert (scripted - eager).abs().max() <= 1e-5
    assert np.abs(onnx_out - eager.numpy()).max() <= 1e-5


def test_export_command_writes_checked_programs_and_refuses_them_for_translation(runs, tmp_path):
    out = tmp_path / "shared"
    code, err = cli("export", runs["conditional"], "-o", out, "--format", "torchscript")
    assert code == 0, err
    assert (out / TORCHSCRIPT).is_file() and not (out / ONNX).exists()
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["max_abs_diff_vs_eager"]["torchscript"] <= 1e-5
    assert "`labels` (N,) int64" in (out / CARD).read_text()
    from ganzoo.export import check_formats
    from ganzoo.variants.cyclegan import CycleGAN

    with pytest.raises(GanzooError, match="translates images"):
        check_formats(["onnx"], CycleGAN, "cyclegan")


def test_interpolate_command_writes_a_strip_and_a_gif_and_refuses_bad_requests(runs, tmp_path):
    code, err = cli("interpolate", runs["conditional"], "-o", tmp_path / "s.png", "--rows", 2, "--steps", 5,
                    "--classes", 0, 2)
    assert code == 0, err
    with Image.open(tmp_path / "s.png") as img:
        assert img.size == (5 * 18 + 2, 2 * 18 + 2)
    assert cli("interpolate", runs["dcgan"], "-o", tmp_path / "s.gif", "--steps", 3)[0] == 0
    with Image.open(tmp_path / "s.gif") as gif:
        assert gif.n_frames == 3
    for args, words in ((("--classes", 0, 1), "conditional run"), (("--truncation", 0.5), "no truncation"),
                        (("-o", tmp_path / "s.jpg"), ".gif")):
        code, err = cli("interpolate", runs["dcgan"], "-o", tmp_path / "t.png", *args)
        assert code == 2 and words in err and err.count("\n") == 1
    code, err = cli("sample", runs["dcgan"], "-o", tmp_path / "t.png", "--truncation", 0.5)
    assert code == 2 and "no truncation trick" in err and err.count("\n") == 1
    assert not (tmp_path / "t.png").exists()


def test_cyclegan_exports_both_generators_and_translates_from_the_folder(tmp_path):
    data = {"name": "two_domain", "image_size": 16, "size": 8, "test_size": 4}
    run = trained(tmp_path, {"name": "cyclegan", "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2,
                             "pool_size": 2}, data, "cyclegan")
    out = tmp_path / "shared"
    assert cli("export", run, "-o", out)[0] == 0
    keys = load_weights(out / WEIGHTS).keys()
    assert any(k.startswith("G_A.") for k in keys) and any(k.startswith("G_B.") for k in keys)
    picture = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(picture)
    for direction in ("AtoB", "BtoA"):
        for source, name in ((run, "run.png"), (out, "export.png")):
            code, err = cli("translate", source, picture, "-o", tmp_path / name, "--direction", direction,
                            "--force")  # the second direction replaces the first's pictures
            assert code == 0, err
        assert (tmp_path / "run.png").read_bytes() == (tmp_path / "export.png").read_bytes()
    code, err = cli("interpolate", out, "-o", tmp_path / "s.png")
    assert code == 2 and "translate" in err and err.count("\n") == 1
