"""Gradient accumulation: k micro-batches of B give the update of one batch of k x B."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ganzoo.config import config_from_dict
from ganzoo.errors import ConfigError
from ganzoo.interfaces import StepContext, Variant
from ganzoo.testing import tiny_config
from ganzoo.trainer import build, take, train


def run(tmp_path, name: str, variant: dict, data: dict, batch: int, accumulate: int, steps: int = 3):
    cfg = tiny_config(variant, data, tmp_path / name, steps=steps, batch_size=batch)
    cfg["train"]["accumulate"] = accumulate
    result = train(config_from_dict(cfg))
    assert result.status == "finished"
    return torch.load(result.checkpoint, weights_only=True)


class RecordingContext(StepContext):
    """The real StepContext, also keeping a copy of the gradients each optimizer step sees."""

    def __init__(self, accumulate: int) -> None:
        super().__init__(torch.device("cpu"))
        self.accumulate = accumulate
        self.seen: list[tuple[str, list[torch.Tensor]]] = []

    def step(self, optimizer, name: str = "") -> None:
        self.seen.append((name, [p.grad.clone() for g in optimizer.param_groups for p in g["params"]
                                 if p.grad is not None]))
        super().step(optimizer, name)


def gradients_of_one_step(variant: dict, data: dict, batch: int, accumulate: int):
    """One ``train_step`` on fixed batches of ``batch`` items; the gradients of every update."""
    cfg = config_from_dict(tiny_config(variant, data, "/nonexistent", batch_size=batch))
    torch.manual_seed(0)
    source, _, model = build(cfg)
    dataset = source.dataset("train")
    # Plain SGD instead of the variant's Adam/RMSprop: their first step is about lr x sign(grad),
    # which turns float noise in near-zero gradients into full-size weight differences.
    model.optimizers = {name: torch.optim.SGD([p for g in opt.param_groups for p in g["params"]], lr=1e-3)
                        for name, opt in model.configure_optimizers().items()}
    items = take(dataset, 320)
    n = len(next(iter(items.values())))
    batches = iter([{k: v[i:i + batch] for k, v in items.items()} for i in range(0, n, batch)])
    ctx = RecordingContext(accumulate)
    torch.manual_seed(1)
    model.train_step(batches, ctx)
    return ctx.seen


# Networks without BatchNorm, so that a micro-batch's statistics cannot differ from the batch's.
# torch's CPU sampler draws the same numbers for one tensor of 2B rows as for two of B rows (when
# B x width is a multiple of 16, checked below), so the noise matches too. WGAN-GP is not here: its
# penalty draws interpolation weights between the micro-batches' latents, so the random stream
# differs from a single batch's (the trainer test below runs it with accumulation).
CASES = {
    "wgan (clipping, 5 critic steps)": (
        {"name": "wgan", "z_dim": 2, "g_hidden": [32, 32], "d_hidden": [32, 32]},
        {"name": "grid", "size": 512}),
    "vanilla (BCE)": (
        {"name": "vanilla", "z_dim": 4, "g_hidden": [32], "d_hidden": [32], "g_batchnorm": False},
        {"name": "ring", "size": 512}),
    "vae (points)": ({"name": "vae", "z_dim": 2, "hidden": [32]}, {"name": "ring", "size": 512}),
    "cyclegan (InstanceNorm, no pool)": (
        {"name": "cyclegan", "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2, "pool_size": 0},
        {"name": "two_domain", "image_size": 16, "size": 64}),
}


def test_the_sampler_premise():
    torch.manual_seed(0)
    whole = torch.randn(16, 2)
    torch.manual_seed(0)
    assert torch.equal(whole, torch.cat([torch.randn(8, 2), torch.randn(8, 2)]))


@pytest.mark.parametrize("case", list(CASES))
def test_two_micro_batches_give_the_gradients_of_one_batch_twice_as_large(case):
    variant, data = CASES[case]
    whole = gradients_of_one_step(variant, data, batch=16, accumulate=1)
    micro = gradients_of_one_step(variant, data, batch=8, accumulate=2)
    assert [name for name, _ in micro] == [name for name, _ in whole]  # same updates, same order
    for (name, gw), (_, gm) in zip(whole, micro):
        assert len(gw) == len(gm) > 0
        scale = max(float(a.abs().max()) for a in gw)  # biases before InstanceNorm get ~0 (noise)
        for a, b in zip(gw, gm):
            torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-4 * scale, msg=f"{case}: {name} update")
    # without the 1/k scaling the sums would be twice as large; plain batch 8 differs as well
    half = gradients_of_one_step(variant, data, batch=8, accumulate=1)
    assert any(not torch.allclose(a, b, rtol=1e-3, atol=1e-6)
               for (_, gw), (_, gh) in zip(whole, half) for a, b in zip(gw, gh))


def test_accumulation_through_the_trainer_counts_micro_batches_and_resumes(tmp_path):
    variant = {"name": "wgan_gp", "z_dim": 2, "g_hidden": [32, 32], "d_hidden": [32, 32]}
    data = {"name": "ring", "size": 512}
    state = run(tmp_path, "micro", variant, data, batch=8, accumulate=3, steps=2)
    assert state["data_position"] == 2 * 5 * 3  # steps x d_steps x micro-batches
    records = [json.loads(l) for l in (tmp_path / "micro" / "check" / "log.jsonl").read_text().splitlines()]
    assert all(math.isfinite(r["loss_d"]) for r in records if r.get("kind") == "train")


def test_a_variant_without_accumulation_is_refused_by_name(tmp_path, ganzoo_plugin):
    class OneBatchOnly(Variant):
        supports = ("points",)

    class Plugin:
        from ganzoo import hookimpl

        @hookimpl
        def register_variants(self, register):
            register("one_batch_only", OneBatchOnly)

    ganzoo_plugin(Plugin(), name="one-batch-only")
    cfg = tiny_config({"name": "one_batch_only"}, {"name": "ring", "size": 64}, tmp_path)
    cfg["train"]["accumulate"] = 4
    with pytest.raises(ConfigError, match=r"variant 'one_batch_only' does not support gradient "
                                          r"accumulation; set train.accumulate: 1"):
        train(config_from_dict(cfg))
