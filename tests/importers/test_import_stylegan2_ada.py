"""``ganzoo import`` of StyleGAN2-ADA pickles: parity with NVIDIA's networks and the refusals.

The reference outputs in tests/data/import/ were computed by NVIDIA's own networks
(tools/make_import_fixtures.py, at development time) for the weights ``fixture_weights`` draws;
here the same weights are written in the official pickle format by our own writer, imported, and
run through ``ganzoo.load_generator``.
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from nvidia_format import _fake_modules, _Persistent, load_fixture, write_snapshot

import ganzoo
from ganzoo.cli import main
from ganzoo.importers import discriminator_of

TOL = 1e-4


def run_import(capsys, *argv) -> tuple[int, str]:
    code = main(["import", *map(str, argv)])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module", params=["uncond", "cond"])
def imported(request, tmp_path_factory):
    """(fixture arrays, imported folder) for each reference configuration."""
    fixture = load_fixture(f"stylegan2_ada_{request.param}")
    folder = tmp_path_factory.mktemp(request.param)
    pkl = folder / "network-snapshot.pkl"
    write_snapshot(pkl, fixture, int(fixture["structure"]["seed"]))
    assert main(["import", str(pkl), "-o", str(folder / "out")]) == 0
    return fixture, folder / "out"


def test_images_ws_and_logits_match_nvidia(imported, one_thread):
    fixture, out = imported
    G = ganzoo.load_generator(out)
    z = torch.from_numpy(fixture["z"])
    labels = torch.from_numpy(fixture["labels"]) if G.conditional else None
    with torch.no_grad():
        for tag, psi in (("1", 1.0), ("07", 0.7)):
            ws = G.ws(z, labels, truncation_psi=psi)
            assert np.abs(ws.numpy() - fixture[f"ws_{tag}"]).max() <= 1e-5
            images = G(z, labels, truncation_psi=psi, noise_mode="const").numpy()
            assert np.abs(images - fixture[f"img_{tag}"]).max() <= TOL
        logits = discriminator_of(out)(torch.from_numpy(fixture["img_1"]), labels).numpy()
    assert np.abs(logits - fixture["d_logits"].reshape(-1)).max() <= TOL
    # the official value range is kept (no clamp to [-1, 1]), and the noise is really used
    assert np.abs(fixture["img_1"]).max() > 1.5
    with torch.no_grad():
        no_noise = G(z, labels, noise_mode="none").numpy()
    assert np.abs(no_noise - fixture["img_1"]).max() > 1e-2


def test_folder_is_an_export_with_source_and_licence(imported, tmp_path):
    _, out = imported
    card = (out / "README.md").read_text()
    assert "stylegan2-ada" in card and "non-commercial" in card
    assert {"generator.safetensors", "config.yaml", "data_info.json", "export.json",
            "discriminator.safetensors"} <= {p.name for p in out.iterdir()}
    assert main(["sample", str(out), "-n", "4", "-o", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").stat().st_size > 0


# -- refusals ---------------------------------------------------------------------------------
class _Command:
    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _refused(capsys, pkl, tmp_path, *extra) -> str:
    code, err = run_import(capsys, pkl, "-o", tmp_path / "out", *extra)
    assert code == 2 and err.startswith("ganzoo: error:") and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()
    return err


def test_a_pickle_that_runs_a_command_is_refused_and_nothing_runs(capsys, tmp_path):
    marker = tmp_path / "MARKER"
    payload = {"G_ema": _Command(marker)}
    pkl = tmp_path / "evil.pkl"
    pkl.write_bytes(pickle.dumps(payload, protocol=4))
    header = pickle.dumps({"x": "torch_utils.persistence"}, protocol=4)[:2]
    assert pkl.read_bytes()[:2] == header  # a pickle like any other
    err = _refused(capsys, pkl, tmp_path, "--format", "stylegan2-ada")
    assert "system" in err and "refused" in err
    assert not marker.exists()
    pickle.loads(pkl.read_bytes())  # the payload is real: loading it naively runs the command
    assert marker.exists()


class _HiddenInStorage:
    """A tensor storage whose inner torch.save bytes carry the command."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (torch.storage._load_from_bytes, (pickle.dumps(_Command(self.marker), protocol=2),))


def test_commands_hidden_in_records_or_storages_never_run(capsys, tmp_path):
    marker = tmp_path / "MARKER"
    for name, payload in (("nested", {"type": "class", "class_name": "Generator",
                                      "state": {"_parameters": {"w": _Command(marker)}}}),
                          ("storage", {"type": "class", "class_name": "Generator",
                                       "state": {"_buffers": {"w": _HiddenInStorage(marker)}}})):
        pkl = tmp_path / f"{name}.pkl"
        with _fake_modules():  # pickled as NVIDIA's persistence hook, as real snapshots are
            pkl.write_bytes(pickle.dumps({"G_ema": _Persistent(payload)}, protocol=4))
        assert b"torch_utils.persistence" in pkl.read_bytes()
        err = _refused(capsys, pkl, tmp_path, "--format", "stylegan2-ada")
        assert "refused" in err
        assert not marker.exists()


def test_unknown_classes_truncated_files_and_other_formats_are_refused(capsys, tmp_path):
    fixture = load_fixture("stylegan2_ada_uncond")
    good = tmp_path / "good.pkl"
    write_snapshot(good, fixture, int(fixture["structure"]["seed"]))
    data = good.read_bytes()
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(data[: len(data) // 2])
    assert "ends early" in _refused(capsys, cut, tmp_path)
    stylegan3 = tmp_path / "sg3.pkl"
    stylegan3.write_bytes(data.replace(b"ToRGBLayer", b"SynthInput"))
    assert "unknown layer classes SynthInput" in _refused(capsys, stylegan3, tmp_path)
    text = tmp_path / "notes.pkl"
    text.write_text("not a pickle at all\n")
    assert "--format" in _refused(capsys, text, tmp_path)
    assert "not a readable network pickle" in _refused(capsys, text, tmp_path, "--format", "stylegan2-ada")
    zipped = tmp_path / "state.pt"
    torch.save({"w": torch.zeros(2)}, zipped)
    _refused(capsys, zipped, tmp_path, "--format", "stylegan2-ada")
