"""Development-time tool (NOT run by the tests): reference outputs of NVIDIA's StyleGAN2-ADA
networks for ganzoo's import parity tests.

    python tools/make_import_fixtures.py /path/to/stylegan2-ada-pytorch-checkout

For two small 32 px configurations (unconditional; conditional with 3 classes and a tight
activation clamp) it builds NVIDIA's G and D from their checkout, fills them with the
deterministic weights of ``tests/importers/nvidia_format.fixture_weights``, and writes

* ``tests/data/import/stylegan2_ada_{name}.npz``: the module tree, tensor names and shapes and
  constructor arguments (the file format's structure), fixed z and labels, and NVIDIA's outputs
  for them: ws at truncation 1.0 and 0.7, images at both (noise_mode "const", fp32) and D's
  logits of the psi-1 images. Numbers only; none of NVIDIA's code.
* ``/tmp/stylegan2_ada_{name}_real.pkl``: a REAL snapshot pickled by NVIDIA's code (embedding
  their source, so it is not committed); the tool imports it with ganzoo and checks that it gives
  the same outputs as the reference, as does the official-format pickle our test writer makes.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
N = 4
CONFIGS = {
    "uncond": dict(seed=1, c_dim=0, G=dict(z_dim=8, w_dim=8, img_resolution=32, img_channels=3,
                                           mapping_kwargs=dict(num_layers=2),
                                           synthesis_kwargs=dict(channel_base=128, channel_max=16,
                                                                 num_fp16_res=4, conv_clamp=256)),
                   D=dict(img_resolution=32, img_channels=3, channel_base=128, channel_max=16,
                          num_fp16_res=4, conv_clamp=256, epilogue_kwargs=dict(mbstd_group_size=2))),
    "cond": dict(seed=3, c_dim=3, G=dict(z_dim=8, w_dim=8, img_resolution=32, img_channels=3,
                                         mapping_kwargs=dict(num_layers=2),
                                         synthesis_kwargs=dict(channel_base=128, channel_max=16,
                                                               num_fp16_res=2, conv_clamp=1.0)),
                 D=dict(img_resolution=32, img_channels=3, channel_base=128, channel_max=16,
                        num_fp16_res=2, conv_clamp=1.0, mapping_kwargs=dict(num_layers=2))),
}


def plain(value):
    return {k: plain(v) for k, v in value.items()} if isinstance(value, dict) else value


def structure(net: torch.nn.Module) -> dict:
    return {"modules": [[name, type(m).__name__] for name, m in net.named_modules()],
            "tensors": [[name, list(t.shape)] for name, t in net.state_dict().items()],
            "buffers": [name for name, _ in net.named_buffers()],
            "init_kwargs": plain(dict(net.init_kwargs))}


def build(cfg: dict, fixture_weights) -> tuple:
    from training.networks import Discriminator, Generator

    G = Generator(c_dim=cfg["c_dim"], **cfg["G"]).eval().requires_grad_(False)
    D = Discriminator(c_dim=cfg["c_dim"], **cfg["D"]).eval().requires_grad_(False)
    for i, net in enumerate((G, D)):
        tensors = [(k, list(v.shape)) for k, v in net.state_dict().items()]
        net.load_state_dict(fixture_weights(tensors, cfg["seed"] + i), strict=True)
    return G, D


def reference(G, D, cfg: dict) -> dict:
    gen = torch.Generator().manual_seed(cfg["seed"] + 100)
    z = torch.randn(N, G.z_dim, generator=gen)
    labels = torch.arange(N) % max(cfg["c_dim"], 1)
    c = torch.nn.functional.one_hot(labels, cfg["c_dim"]).float() if cfg["c_dim"] else None
    out = {"z": z.numpy(), "labels": labels.numpy()}
    with torch.no_grad():
        for tag, psi in (("1", 1.0), ("07", 0.7)):
            ws = G.mapping(z, c, truncation_psi=psi)
            out[f"ws_{tag}"] = ws.numpy()
            out[f"img_{tag}"] = G.synthesis(ws, noise_mode="const", force_fp32=True).numpy()
        out["d_logits"] = D(torch.from_numpy(out["img_1"]), c, force_fp32=True).numpy()
    return out


def ganzoo_outputs(pkl: Path, ref: dict, tmp: Path) -> dict:
    """Import ``pkl`` with ganzoo and run it on the reference inputs."""
    import shutil

    import ganzoo
    from ganzoo.importers import read_model, write_import

    shutil.rmtree(tmp, ignore_errors=True)
    model = read_model(pkl)
    write_import(model, tmp)
    G = ganzoo.load_generator(tmp)
    z, labels = torch.from_numpy(ref["z"]), torch.from_numpy(ref["labels"])
    labels = labels if model.num_classes else None
    with torch.no_grad():
        out = {f"img_{t}": G(z, labels, truncation_psi=p).numpy() for t, p in (("1", 1.0), ("07", 0.7))}
        out.update({f"ws_{t}": G.ws(z, labels, truncation_psi=p).numpy() for t, p in (("1", 1.0), ("07", 0.7))})
        D = ganzoo.importers.discriminator_of(tmp)
        out["d_logits"] = D(torch.from_numpy(ref["img_1"]), labels).numpy()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("nvidia_checkout", type=Path)
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "tests" / "data" / "import")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(args.nvidia_checkout))
    sys.path.insert(0, str(ROOT / "tests" / "importers"))
    from nvidia_format import fixture_weights, load_fixture, write_snapshot

    args.out.mkdir(parents=True, exist_ok=True)
    for name, cfg in CONFIGS.items():
        G, D = build(cfg, fixture_weights)
        ref = reference(G, D, cfg)
        meta = {"G": structure(G), "D": structure(D), "seed": cfg["seed"]}
        np.savez_compressed(args.out / f"stylegan2_ada_{name}.npz", structure=json.dumps(meta), **ref)
        ref = load_fixture(f"stylegan2_ada_{name}")  # compare with what was written
        real = Path(f"/tmp/stylegan2_ada_{name}_real.pkl")
        with open(real, "wb") as f:
            pickle.dump({"G": G, "D": D, "G_ema": G, "augment_pipe": None,
                         "training_set_kwargs": {"resolution": 32}}, f)
        ours = Path(f"/tmp/stylegan2_ada_{name}_ours.pkl")
        write_snapshot(ours, load_fixture(f"stylegan2_ada_{name}"), cfg["seed"])
        results = {p: ganzoo_outputs(p, ref, Path(f"/tmp/import_check_{name}_{i}"))
                   for i, p in enumerate((real, ours))}
        for key in ("ws_1", "ws_07", "img_1", "img_07", "d_logits"):
            diffs = [float(np.abs(results[p][key].reshape(ref[key].shape) - ref[key]).max()) for p in (real, ours)]
            same = bool(np.array_equal(results[real][key], results[ours][key]))
            print(f"{name} {key}: max |ganzoo - NVIDIA| real pickle {diffs[0]:.3g}, our writer "
                  f"{diffs[1]:.3g}; real == ours bitwise: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
