"""Fine-tuning (``init_from: DIR``) and scoring (``ganzoo eval DIR``) of exported and imported
folders: the run starts from exactly the folder's weights, a resume takes them from its
checkpoint, mismatches are refused before a run folder exists, and eval reads real data from
the folder's config or from data.KEY=VALUE overrides."""

from __future__ import annotations

import contextlib
import shutil

import pytest
import torch
import yaml
from nvidia_format import load_fixture, write_snapshot
from PIL import Image

from ganzoo import distributed
from ganzoo.cli import main
from ganzoo.config import load_config
from ganzoo.export import load_weights
from ganzoo.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_SG2 = {"run": {"name": "base", "out_dir": "runs"}, "device": "cpu",
            "variant": {"name": "stylegan2", "z_dim": 8, "w_dim": 8, "mapping_layers": 1,
                        "channel_base": 32, "channel_max": 8, "mbstd_group": 2},
            "data": {"name": "shapes", "image_size": 16, "size": 64},
            "train": {"steps": 1, "batch_size": 4}, "ema": {"decay": 0.9},
            "checkpoint": {"every": 1, "keep": 5},
            "log": {"every": 1, "image_every": 100, "num_images": 4, "tensorboard": False}}


def trainer_at_step_0(config, *overrides):
    """The networks of a new run, as the trainer sets them up before the first step."""
    with contextlib.ExitStack() as stack:
        return Trainer(load_config(config, list(overrides)), torch.device("cpu"),
                       distributed.from_environment(), stack)


def same(state, reference):
    assert set(state) == set(reference)
    return all(torch.equal(state[k], reference[k]) for k in reference)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(folder, config) of a tiny stylegan2 run trained 1 step and exported."""
    folder = tmp_path_factory.mktemp("export")
    config = folder / "sg.yaml"
    config.write_text(yaml.safe_dump({**TINY_SG2, "run": {"name": "base", "out_dir": str(folder / "runs")}}))
    assert main(["run", str(config)]) == 0
    assert main(["export", str(folder / "runs" / "base"), "-o", str(folder / "exp")]) == 0
    return folder / "exp", config


def test_init_from_an_export_starts_from_its_weights_and_resumes_exactly(exported, tmp_path):
    exp, config = exported
    weights = load_weights(exp / "generator.safetensors")
    fresh = trainer_at_step_0(config, "run.name=fresh")
    assert not same(fresh.variant.G.state_dict(), weights)  # the folder's weights are not the init
    with pytest.warns(UserWarning, match="has no discriminator.safetensors; the discriminator starts"):
        t = trainer_at_step_0(config, f"init_from={exp}")
    assert same(t.variant.G.state_dict(), weights) and same(t.ema.state_dict(), weights)
    assert same(t.variant.D.state_dict(), fresh.variant.D.state_dict())  # no discriminator file
    # trained 2 steps in one go, or 1 step then resumed without the folder: the same weights
    out = tmp_path / "runs"
    assert main(["run", str(config), f"init_from={exp}", f"run.out_dir={out}", "run.name=once",
                 "train.steps=2"]) == 0
    moved = tmp_path / "exp_copy"
    shutil.copytree(exp, moved)
    assert main(["run", str(config), f"init_from={moved}", f"run.out_dir={out}", "run.name=twice"]) == 0
    shutil.rmtree(moved)  # a resume takes the weights from its checkpoint, not from the folder
    assert main(["resume", str(out / "twice"), "train.steps=2"]) == 0
    a, b = (torch.load(out / name / "checkpoints" / "step_00000002.pt", weights_only=True)
            for name in ("once", "twice"))
    assert same(a["model"], b["model"]) and same(a["ema"], b["ema"])


def test_a_mismatched_folder_is_refused_before_a_run_folder_exists(exported, tmp_path, capsys):
    exp, config = exported
    out = tmp_path / "runs"
    code = main(["run", str(config), f"init_from={exp}", f"run.out_dir={out}", "variant.channel_base=64"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert str(exp) in err and "variant.channel_base is 32 there and 64 here" in err
    assert main(["run", str(config), f"init_from={exp}", f"run.out_dir={out}",
                 "variant={name: dcgan}"]) == 2
    assert "holds variant 'stylegan2'" in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """An imported StyleGAN2-ADA snapshot (G and D) and a folder of 32 px images."""
    folder = tmp_path_factory.mktemp("imported")
    fixture = load_fixture("stylegan2_ada_uncond")
    write_snapshot(folder / "snap.pkl", fixture, int(fixture["structure"]["seed"]))
    assert main(["import", str(folder / "snap.pkl"), "-o", str(folder / "out")]) == 0
    (folder / "images").mkdir()
    gen = torch.Generator().manual_seed(0)
    for i in range(8):
        pixels = torch.randint(0, 256, (32, 32, 3), generator=gen, dtype=torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / "images" / f"{i}.png")
    return folder / "out", folder / "images"


def test_init_from_an_import_loads_its_discriminator_and_fine_tunes(imported, tmp_path):
    out, images = imported
    config, runs = out / "config.yaml", tmp_path / "runs"
    small = [f"data.root={images}", f"run.out_dir={runs}", "train.batch_size=4", "log.num_images=4",
             "log.tensorboard=false"]
    t = trainer_at_step_0(config, f"init_from={out}", *small)
    assert same(t.variant.G.state_dict(), load_weights(out / "generator.safetensors"))
    assert same(t.variant.D.state_dict(), load_weights(out / "discriminator.safetensors"))
    assert main(["run", str(config), f"init_from={out}", *small, "train.steps=1"]) == 0
    assert list(runs.glob("*/checkpoints/step_00000001.pt"))


def test_eval_scores_an_export_and_an_import_with_data_overrides(imported, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["run", "zoo_configs/ring2d_vanilla.yaml", f"run.out_dir={runs}", "train.steps=2",
                 "device=cpu", "log.tensorboard=false", "variant.g_hidden=[8]", "variant.d_hidden=[8]",
                 "data.size=512"]) == 0
    assert main(["export", str(runs / "ring2d-vanilla"), "-o", str(tmp_path / "exp")]) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "exp"), "--metrics", "modes", "-n", "64",
                 "-o", str(tmp_path / "scores.jsonl")]) == 0
    assert capsys.readouterr().out.startswith("modes")
    assert '"metric": "modes"' in (tmp_path / "scores.jsonl").read_text()
    assert not (tmp_path / "exp" / "eval.jsonl").exists()  # the folder stays as its manifest says
    out, images = imported
    assert main(["eval", str(out), "--metrics", "kid", "-n", "8", "--extractor", "raw"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "names no real data" in err and "data.root=PATH" in err
    assert main(["eval", str(out), f"data.root={images}", "--metrics", "kid", "-n", "8",
                 "--extractor", "raw"]) == 0
    assert capsys.readouterr().out.startswith("kid")
