"""ACGAN, InfoGAN, EBGAN and BEGAN: each trains, resumes bit-exactly and computes its own terms
as the papers define them; one of them subclassed by a third-party plugin."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganzoo.checkpoint import list_checkpoints, load_checkpoint
from ganzoo.config import config_from_dict
from ganzoo.data.base import DataInfo
from ganzoo.hookspecs import hookimpl
from ganzoo.interfaces import StepContext
from ganzoo.testing import check_variant, tiny_config
from ganzoo.trainer import train

ROOT = Path(__file__).resolve().parents[2]
SHAPES = {"name": "shapes", "image_size": 16, "size": 64}
TINY = {"z_dim": 4, "ngf": 4, "ndf": 4}
VARIANTS = {
    "acgan": {"name": "acgan", **TINY, "embed_dim": 4},
    "infogan": {"name": "infogan", **TINY, "n_categories": 3, "n_continuous": 2, "q_hidden": 8},
    "ebgan": {"name": "ebgan", **TINY, "code_dim": 8},
    "began": {"name": "began", **TINY, "code_dim": 8, "lambda_k": 0.1},
}
IMAGES = DataInfo(name="img", kind="images", shape=(3, 16, 16), num_classes=5)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_trains_two_steps_and_logs_its_own_terms(name, tmp_path):
    seen = check_variant(VARIANTS[name], SHAPES, tmp_path, steps=2)
    own = {"acgan": {"loss_class_d", "loss_class_g"}, "infogan": {"loss_info_d", "loss_info_g"},
           "ebgan": {"loss_pt"}, "began": set()}[name]
    assert own <= set(seen["losses"])


def run_config(name: str, out: Path, steps: int):
    cfg = tiny_config(VARIANTS[name], SHAPES, out, steps=steps, batch_size=4)
    cfg["checkpoint"] = {"every": 2, "keep": 2}
    return config_from_dict(cfg)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_resume_is_bit_identical(name, tmp_path):
    """4 steps straight == 2 steps, resume, 2 more (every weight, optimizer moment, and k_t)."""
    straight = train(run_config(name, tmp_path / "a", 4))
    half = train(run_config(name, tmp_path / "b", 2))
    resumed = train(run_config(name, tmp_path / "b", 4), run_dir=half.run_dir, resume=True)
    a = load_checkpoint(list_checkpoints(straight.run_dir)[-1])
    b = load_checkpoint(list_checkpoints(resumed.run_dir)[-1])
    assert a["step"] == b["step"] == 4
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["extra"] == b["extra"]


def step(variant, n=4, steps=1, labels=True):
    variant.optimizers = variant.configure_optimizers()
    gen = torch.Generator().manual_seed(1)
    batches = iter([{"x": torch.rand(n, 3, 16, 16, generator=gen) * 2 - 1,
                     **({"y": torch.arange(n) % 5} if labels else {})} for _ in range(4 * steps)])
    ctx = StepContext(torch.device("cpu"))
    return [variant.train_step(batches, ctx) for _ in range(steps)][-1]


def test_acgan_class_terms_are_cross_entropies_of_the_class_head():
    from ganzoo.variants.acgan import ACGAN, ACGANOptions

    torch.manual_seed(0)
    v = ACGAN(ACGANOptions(name="acgan", class_weight=0.5, **TINY, embed_dim=4), IMAGES)
    x, y = torch.rand(6, 3, 16, 16) * 2 - 1, torch.arange(6) % 5
    scores, logits = v.D.heads(x)
    assert scores.shape == (6,) and logits.shape == (6, 5)
    assert torch.equal(v.D(x, y), scores)           # losses and regularizers see only the score
    terms = v.discriminator_extra(None, y, logits, logits.flip(0))
    hand = 0.5 * (F.cross_entropy(logits, y) + F.cross_entropy(logits.flip(0), y))
    assert torch.allclose(terms["loss_class_d"], hand)
    assert torch.allclose(v.generator_extra(None, y, logits)["loss_class_g"], 0.5 * F.cross_entropy(logits, y))
    v.options = v.options.model_copy(update={"fake_class_weight": 0.25})   # generated part scaled
    hand = 0.5 * (F.cross_entropy(logits, y) + 0.25 * F.cross_entropy(logits.flip(0), y))
    assert torch.allclose(v.discriminator_extra(None, y, logits, logits.flip(0))["loss_class_d"], hand)


def infogan(**kw):
    from ganzoo.variants.infogan import InfoGAN, InfoGANOptions

    opts = {**TINY, "n_categories": 3, "n_continuous": 2, "q_hidden": 8, **kw}
    return InfoGAN(InfoGANOptions(name="infogan", **opts), IMAGES)


def test_infogan_latents_carry_a_one_hot_category_and_uniform_codes():
    v = infogan()
    z = v.G.sample_latent(500, generator=torch.Generator().manual_seed(0))
    noise, cat, cont = v.G.split(z)
    assert z.shape == (500, 4 + 3 + 2) and noise.shape == (500, 4)
    assert torch.equal(z[:, 4:7].sum(1), torch.ones(500)) and set(cat.tolist()) == {0, 1, 2}
    assert cont.min() >= -1 and cont.max() <= 1 and cont.std() > 0.4


def test_infogan_info_loss_and_code_grid():
    v = infogan(lambda_info=2.0, lambda_cont=0.1)
    z = v.G.sample_latent(6, generator=torch.Generator().manual_seed(0))
    _, cat, cont = v.G.split(z)
    q = torch.randn(6, 5)
    hand = 2.0 * (F.cross_entropy(q[:, :3], cat) + 0.1 * 0.5 * (q[:, 3:] - cont).pow(2).sum(1).mean())
    assert torch.allclose(v.info_loss(z, q), hand)
    grid = v.code_grid("cont1", steps=5, rows=2, generator=torch.Generator().manual_seed(0))
    _, gcat, gcont = v.G.split(grid)
    assert torch.equal(gcont[:5, 1], torch.linspace(-1, 1, 5))
    assert torch.equal(grid[:5, :4], grid[:1, :4].expand(5, -1))        # noise held
    assert len(set(gcat[:5].tolist())) == 1 and len(set(gcont[:5, 0].tolist())) == 1
    cats = v.G.split(v.code_grid("cat", steps=0, rows=2))[1]
    assert cats.tolist() == [0, 1, 2, 0, 1, 2]
    with pytest.raises(Exception, match="unknown code 'cont7'.*cat, cont0, cont1"):
        v.code_grid("cont7", 3, 1)


def test_infogan_never_reads_labels():
    torch.manual_seed(0)
    logs = step(infogan(), labels=False)
    assert float(logs["loss_info_g"]) > 0


def test_ebgan_energy_is_reconstruction_error_and_pull_away_matches_its_formula():
    from ganzoo.variants.ebgan import EBGAN, EBGANOptions, pull_away

    torch.manual_seed(0)
    v = EBGAN(EBGANOptions(name="ebgan", **TINY, code_dim=8, margin=0.7), IMAGES)
    assert v.loss.margin == 0.7 and v.d_scores == "energy"
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    rec, code = v.D.reconstruct(x)
    assert torch.allclose(v.D(x), (rec - x).pow(2).flatten(1).mean(1))
    assert float(pull_away(torch.eye(4))) == 0.0                  # orthogonal codes: no penalty
    assert float(pull_away(torch.ones(4, 3))) == pytest.approx(1.0)  # identical codes: the maximum
    s = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    c = F.normalize(s, dim=1) @ F.normalize(s, dim=1).t()
    hand = (c.pow(2).sum() - 3) / 6
    assert torch.allclose(pull_away(s), hand)


def test_began_updates_k_towards_equilibrium_and_logs_the_convergence_measure():
    from ganzoo.variants.began import BEGAN, BEGANOptions

    torch.manual_seed(0)
    v = BEGAN(BEGANOptions(name="began", **TINY, code_dim=8, lambda_k=0.5, gamma=0.5), IMAGES)
    logs = step(v)
    real, fake = v.loss.last
    assert logs["k"] == pytest.approx(min(max(0.5 * (0.5 * real - fake), 0.0), 1.0))
    assert logs["convergence"] == pytest.approx(real + abs(0.5 * real - fake))
    assert torch.allclose(v.D(torch.zeros(2, 3, 16, 16)), v.D.reconstruct(torch.zeros(2, 3, 16, 16))[0]
                          .abs().flatten(1).mean(1))                       # L1 energy
    v.load_extra_state({"k": 0.25})
    assert v.loss.k == 0.25 and v.extra_state()["k"] == 0.25


def make_plugin():
    """A third party's plugin as docs/plugins.md shows it: subclass a built-in variant, add an
    option, change one part, register it with ``@hookimpl register_variants``."""
    from pydantic import Field

    from ganzoo.variants import ACGAN
    from ganzoo.variants.acgan import ACGANOptions

    class FocalOptions(ACGANOptions):
        focus: float = Field(2.0, ge=0, description="focal exponent of the class loss")

    class FocalACGAN(ACGAN):
        """ACGAN with a focal class loss on generated samples."""

        Options = FocalOptions

        def generator_extra(self, z, labels, fake_aux):
            logp = F.log_softmax(fake_aux.float(), 1).gather(1, labels.long()[:, None])[:, 0]
            return {"loss_focal_g": (-(1 - logp.exp()) ** self.options.focus * logp).mean()}

    module = types.ModuleType("focal_acgan_plugin")

    @hookimpl
    def register_variants(register):
        register("focal_acgan", FocalACGAN)

    module.register_variants = register_variants
    return module


def test_a_third_party_plugin_subclasses_acgan(ganzoo_plugin, tmp_path):
    ganzoo_plugin(make_plugin())
    seen = check_variant({**VARIANTS["acgan"], "name": "focal_acgan", "focus": 1.0}, SHAPES, tmp_path, steps=2)
    assert {"loss_focal_g", "loss_class_d"} <= set(seen["losses"])   # its own term and the base's
    assert seen["trained"].variant.conditional


def test_sample_and_interpolate_vary_one_code_and_refuse_runs_without_codes(tmp_path, capsys):
    from PIL import Image

    from ganzoo.cli import main

    info = check_variant(VARIANTS["infogan"], SHAPES, tmp_path / "i", steps=2)["run_dir"]
    assert main(["sample", str(info), "--vary-code", "cont1", "-n", "16", "-o", str(tmp_path / "s.png")]) == 0
    assert main(["interpolate", str(info), "--vary-code", "cat", "--rows", "2", "-o", str(tmp_path / "c.png")]) == 0
    side = lambda n: n * 16 + (n + 1) * 2  # noqa: E731  (make_grid: 16 px tiles, 2 px padding)
    assert Image.open(tmp_path / "s.png").size == (side(8), side(2))   # 8 code values, 16 / 8 rows
    assert Image.open(tmp_path / "c.png").size == (side(3), side(2))   # one column per category
    capsys.readouterr()
    assert main(["sample", str(info), "--vary-code", "cont5", "-o", str(tmp_path / "x.png")]) == 2
    assert "unknown code 'cont5'" in capsys.readouterr().err
    dcgan = check_variant({"name": "dcgan", **TINY}, SHAPES, tmp_path / "d", steps=2)["run_dir"]
    assert main(["interpolate", str(dcgan), "--vary-code", "cat", "-o", str(tmp_path / "d.png")]) == 2
    err = capsys.readouterr().err
    assert "variant 'dcgan' has no named latent codes" in err and len(err.strip().splitlines()) == 1


def test_infogan_q_noise_makes_q_read_its_category_from_a_noisy_copy():
    torch.manual_seed(0)
    v = infogan(q_noise=0.5)                                 # 3 categories, 2 continuous codes
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    scores, aux = v.discriminate(v.D, x, None)
    plain_scores, plain_q = v.D.heads(x)
    assert torch.equal(scores, plain_scores) and torch.equal(aux[0], x) and torch.equal(aux[1], plain_q)
    torch.manual_seed(5)
    q = v.q_outputs(aux)
    torch.manual_seed(5)
    noisy = x + 0.5 * torch.randn_like(x)
    assert torch.allclose(q[:, :3], v.D.heads(noisy)[1][:, :3])   # the category: the noisy copy
    assert torch.equal(q[:, 3:], plain_q[:, 3:])                  # continuous codes: the image
    assert not torch.allclose(q[:, :3], plain_q[:, :3])
    assert torch.equal(infogan().q_outputs(plain_q), plain_q)     # no copy: aux is Q's output


def test_infogan_q_augment_makes_q_read_its_category_from_a_grey_shifted_copy():
    from ganzoo import augment as ops

    torch.manual_seed(0)
    v = infogan(q_augment=["translate", "grey"])
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    aux = v.discriminate(v.D, x, None)[1]
    torch.manual_seed(3)
    q = v.q_outputs(aux)
    torch.manual_seed(3)
    seen = ops.translate(x.mean(1, keepdim=True).expand_as(x), torch.ones(4, dtype=torch.bool))
    assert torch.allclose(q[:, :3], v.D.heads(seen)[1][:, :3])    # grey first, then the shift
    assert not torch.allclose(q[:, :3], v.D.heads(x)[1][:, :3])
    # a colour change alone cannot reach Q's category: the same luminance gives the same logits
    swapped = x.mean(1, keepdim=True) + (x - x.mean(1, keepdim=True)).roll(1, dims=1)
    v2 = infogan(q_augment=["grey"])
    cat = [v2.q_outputs(v2.discriminate(v2.D, img, None)[1])[:, :3] for img in (x, swapped)]
    assert torch.allclose(cat[0], cat[1], atol=1e-5)


def test_infogan_zoom_scales_a_chosen_shape_about_the_centre():
    from ganzoo.variants.infogan import ZOOM_MAX, zoom

    torch.manual_seed(0)
    square = torch.full((64, 1, 32, 32), -1.0)
    square[:, :, 12:20, 12:20] = 1.0                        # 64 pixels, centred
    chosen = torch.arange(64) % 2 == 0
    out = zoom(square, chosen)
    assert torch.equal(out[~chosen], square[~chosen])
    areas = (out[chosen] > 0).flatten(1).sum(1).float()
    assert areas.min() < 50 and areas.max() > 80            # both smaller and larger copies
    assert areas.max() <= 64 * ZOOM_MAX ** 2 + 20 and areas.min() >= 64 / ZOOM_MAX ** 2 - 20
    centre = (out[chosen] > 0).float().mean(2).squeeze(1)     # column profile: symmetric about 16
    assert torch.allclose(centre, centre.flip(1))
