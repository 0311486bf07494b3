"""A hash of the weights after N steps of every built-in zoo config, on the CPU.

Run before and after a change to the core: identical hashes mean the change did not alter what
any built-in config trains. Usage::

    python tools/weights_hash.py --steps 50 -o before.json
    python tools/weights_hash.py --steps 50 --compare before.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def state_hash(state: dict) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order."""
    import torch

    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name]
        if not torch.is_tensor(t):
            continue
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def run_one(config: Path, steps: int, out_dir: str) -> str:
    from ganzoo.checkpoint import load_checkpoint
    from ganzoo.config import load_config
    from ganzoo.trainer import train

    cfg = load_config(config, [f"train.steps={steps}", "device=cpu", f"run.out_dir={out_dir}",
                               "log.progress=false", "log.tensorboard=false"])
    result = train(cfg)
    return state_hash(load_checkpoint(result.checkpoint)["model"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("configs", nargs="*", type=Path, help="default: zoo_configs/*.yaml")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("-o", "--output", type=Path, help="write {config: hash} as JSON")
    p.add_argument("--compare", type=Path, help="a JSON written by -o to compare with")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # the same float rounding on every machine size
    configs = args.configs or sorted((ROOT / "zoo_configs").glob("*.yaml"))
    hashes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            hashes[config.name] = run_one(config, args.steps, tmp)
            print(f"{config.name}: {hashes[config.name][:16]}", flush=True)
    if args.output:
        args.output.write_text(json.dumps(hashes, indent=1) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        changed = [k for k in hashes if before.get(k) != hashes[k]]
        print("identical" if not changed else f"changed: {', '.join(changed)}")
        return 1 if changed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
