"""Development-time tool (NOT run by the tests): reference outputs of rosinality's
stylegan2-pytorch generator for ganzoo's import parity test.

    python tools/make_rosinality_fixture.py /path/to/stylegan2-pytorch-checkout

The checkout's ``op`` package compiles CUDA extensions when imported; on a CPU-only machine
replace its two ``load(...)`` calls (op/fused_act.py, op/upfirdn2d.py) by ``None`` first: the
functions then take their pure-PyTorch CPU paths. Builds ``Generator(size=8, style_dim=8,
n_mlp=2)`` with the deterministic weights of ``tests/importers/nvidia_format.fixture_weights``
(and a ``latent_avg``), and writes ``tests/data/import/rosinality.npz``: tensor names and shapes,
fixed z, and the images for them at truncation 1.0 and 0.7 with the stored noise. Numbers only.
It then imports the checkpoint it saved with ganzoo and prints the differences.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SEED, N = 5, 4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path)
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "tests" / "data" / "import" / "rosinality.npz")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(args.checkout))
    sys.path.insert(0, str(ROOT / "tests" / "importers"))
    from model import Generator
    from nvidia_format import fixture_weights

    g = Generator(8, 8, 2).eval()
    tensors = [[k, list(v.shape)] for k, v in g.state_dict().items()] + [["latent_avg", [8]]]
    weights = fixture_weights(tensors, SEED)
    latent_avg = weights.pop("latent_avg")
    g.load_state_dict(weights, strict=True)
    z = torch.randn(N, 8, generator=torch.Generator().manual_seed(SEED + 100))
    out = {"z": z.numpy()}
    with torch.no_grad():
        for tag, psi in (("1", 1.0), ("07", 0.7)):
            img, _ = g([z], truncation=psi, truncation_latent=latent_avg[None], randomize_noise=False)
            out[f"img_{tag}"] = img.numpy()
    np.savez_compressed(args.out, structure=json.dumps({"tensors": tensors, "seed": SEED}), **out)

    import ganzoo
    from ganzoo.importers import read_model, write_import

    ckpt = Path("/tmp/rosinality_fixture.pt")
    torch.save({"g_ema": g.state_dict(), "latent_avg": latent_avg, "args": argparse.Namespace(size=8)}, ckpt)
    folder = Path("/tmp/rosinality_import")
    shutil.rmtree(folder, ignore_errors=True)
    write_import(read_model(ckpt), folder)
    G = ganzoo.load_generator(folder)
    with torch.no_grad():
        for tag, psi in (("1", 1.0), ("07", 0.7)):
            diff = np.abs(G(z, truncation_psi=psi).numpy() - out[f"img_{tag}"]).max()
            print(f"rosinality img_{tag}: max |ganzoo - rosinality| {diff:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
