"""``two_domain``: unpaired training items, aligned ground truth, and the scoring helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ganzoo.data import two_domain as td
from ganzoo.data import two_domain_eval as ev
from ganzoo.data.builtin import TwoDomain, TwoDomainOptions
from ganzoo.data.shape_render import render_coverage
from ganzoo.errors import DataError


pytestmark = pytest.mark.usefixtures("one_thread")


def source(**kw):
    return TwoDomain(TwoDomainOptions(name="two_domain", **kw))


@pytest.fixture(scope="module")
def train():
    return source(size=300, seed=5).dataset()


@pytest.fixture(scope="module")
def floor(truth):
    return ev.identity_floor(truth)


@pytest.fixture(scope="module")
def truth():
    return td.two_domain_ground_truth({"size": 10, "test_size": 120, "seed": 5}, n=120)


def test_info_matches_renderer():
    info = source(image_size=48).info()
    assert info.kind == "unpaired" and info.shape == (3, 48, 48)
    assert info.extras["background_a"] == list(td.BACKGROUND["a"])
    assert info.extras["background_b"] == list(td.BACKGROUND["b"])
    assert info.extras["hue_shift_degrees"] == td.HUE_SHIFT


def test_training_items_are_unpaired(train):
    assert len(train) == 300
    item = train[4]
    assert set(item) == {"a", "b"} and item["a"].shape == item["b"].shape == (3, 32, 32)
    perm = train.perm.numpy()
    assert sorted(perm.tolist()) == list(range(300)) and (perm != np.arange(300)).mean() > 0.95
    # A and B scenes are independent draws: the B scene of an item is not its A scene
    sa, sb = train.scenes_a, train.scenes_b.take(perm)
    assert not np.isclose(sa.cx, sb.cx).any()
    assert (sa.cls != sb.cls).mean() > 0.6
    # the item really serves A_i and B_perm[i], in each domain's style
    assert torch.equal(item["b"], train.images_b[perm[4]].float() / 127.5 - 1)
    assert torch.all(item["a"][:, 0, 0] == 235 / 127.5 - 1) and torch.all(item["b"][:, 0, 0] == 25 / 127.5 - 1)


def test_seeded_and_prefix_stable(train):
    again = source(size=300, seed=5).dataset()
    other = source(size=300, seed=6).dataset()
    assert torch.equal(again.images_a, train.images_a) and torch.equal(again.perm, train.perm)
    assert not torch.equal(other.images_a, train.images_a)
    small = source(size=50, seed=5).dataset()
    assert torch.equal(small.images_b, train.images_b[:50])
    with pytest.raises(DataError, match="split"):
        source(size=5).dataset("validation")


def test_ground_truth_is_aligned(truth):
    assert len(truth) == 120
    # the same geometry in both styles
    for img, other, mask, dom, odom in ((truth.a, truth.a_to_b, truth.mask_a, "a", "b"),
                                        (truth.b, truth.b_to_a, truth.mask_b, "b", "a")):
        assert torch.equal(ev.foreground_mask(img, dom), mask)
        assert torch.equal(ev.foreground_mask(other, odom), mask)
    # fully covered pixels: B's colour is A's with channels rolled (R, G, B) -> (B, R, G)
    cov = torch.from_numpy(render_coverage(truth.scenes_a, 32)) == 255
    a_px = truth.a.permute(0, 2, 3, 1)[cov]
    b_px = truth.a_to_b.permute(0, 2, 3, 1)[cov]
    assert torch.equal(b_px, a_px[:, [2, 0, 1]])
    # hues: a_to_b is a's hue + 120 degrees, b_to_a is b's - 120
    for img, mask, hue in ((truth.a, truth.mask_a, truth.hue_a),
                           (truth.a_to_b, truth.mask_a, truth.hue_a + 120),
                           (truth.b, truth.mask_b, truth.hue_b),
                           (truth.b_to_a, truth.mask_b, truth.hue_b - 120)):
        got, valid = ev.dominant_hue(img, mask)
        assert valid.all() and ev.hue_distance(got, hue).max() < 2.0


def test_dataset_and_function_give_the_same_truth(truth):
    ds = source(size=10, test_size=120, seed=5).dataset("test")
    small = ds.ground_truth(n=30)
    assert torch.equal(small.a, truth.a[:30]) and torch.equal(small.b_to_a, truth.b_to_a[:30])
    assert torch.equal(small.class_b, truth.class_b[:30])
    with pytest.raises(DataError):
        ds.ground_truth(n=121)


def test_hue_bands_make_the_rotation_identifiable():
    """Only a +120 degree rotation maps every class's A hues into that class's B hues; no
    channel swap (hue reflection) does: unpaired data determines the colour mapping."""
    scenes_a = td.sample_scenes(1, td.STREAM_A, 0, 2000, 5)
    scenes_b = td.sample_scenes(1, td.STREAM_B, 0, 2000, 5)
    hue_a = torch.from_numpy(td.colour_hue(scenes_a, 5, "a"))
    hue_b = torch.from_numpy(td.colour_hue(scenes_b, 5, "b"))
    cls_a, cls_b = torch.from_numpy(scenes_a.cls), torch.from_numpy(scenes_b.cls)
    # B's hues of class k fill the band starting at 72 k + 120, 48 degrees wide
    for k in range(5):
        offset = torch.remainder(hue_b[cls_b == k] - (72 * k + 120), 360)
        assert offset.max() < 48 and offset.min() < 1 and offset.max() > 47

    def fits(mapped: torch.Tensor) -> bool:
        return all(bool(torch.all(torch.remainder(mapped[cls_a == k] - (72 * k + 120), 360) < 48))
                   for k in range(5))

    rotations = [t for t in range(0, 360, 5) if fits(torch.remainder(hue_a + t, 360))]
    assert rotations == [120]
    for c in (0, 120, 240):   # the three channel swaps reflect hue about c/2
        assert not fits(torch.remainder(c - hue_a, 360))


def test_scores_perfect_on_truth_and_poor_for_identity(truth, floor):
    for d in ("a2b", "b2a"):
        s = ev.score_translation(truth.task(d).targets, truth, d)
        assert s == {"l1": 0.0, "mask_iou": 1.0, "shape_accuracy": 1.0, "colour_accuracy": 1.0}
    for d in ("a2b", "b2a"):
        assert floor[d]["l1"] > 1.0
        assert floor[d]["mask_iou"] < 0.4
        assert floor[d]["shape_accuracy"] < 0.4
        assert floor[d]["colour_accuracy"] == 0.0


def test_background_only_translation_fails_colour_only(truth, floor):
    """Swapping the background but keeping A's colours gets geometry right and colour wrong."""
    cov = render_coverage(truth.scenes_a, 32)
    fg = td.hsv_to_rgb(td.scene_hue(truth.scenes_a, 5), td.SATURATION, td.VALUE) * 255
    pred = torch.from_numpy(td.composite(cov, fg, np.array(td.BACKGROUND["b"], np.float32))).float() / 127.5 - 1
    s = ev.score_translation(pred, truth, "a2b")
    assert s["mask_iou"] == 1.0 and s["shape_accuracy"] == 1.0 and s["colour_accuracy"] == 0.0
    assert 0 < s["l1"] < floor["a2b"]["l1"]
    # the right colours at the wrong shape: colour right, shape wrong
    wrong = (truth.task("a2b").cls.numpy() + 1) % 5
    cov_w = render_coverage(truth.scenes_a, 32, classes=wrong)
    pred_w = torch.from_numpy(td.render_domain(truth.scenes_a, cov_w, "b", 5)).float() / 127.5 - 1
    s = ev.score_translation(pred_w, truth, "a2b")
    assert s["shape_accuracy"] == 0.0 and s["colour_accuracy"] == 1.0 and s["mask_iou"] < 0.9


def test_metrics_on_a_hand_made_case():
    bg = ev.background("b")
    target = bg.repeat(2, 1, 8, 8)
    pred = target.clone()
    target[:, :, 2:6, 2:6] = torch.tensor([1.0, -1.0, -1.0]).view(3, 1, 1)    # red 4x4 square
    pred[:, :, 2:6, 4:8] = torch.tensor([1.0, -1.0, -1.0]).view(3, 1, 1)      # shifted by 2 px
    # overlap 8 px, union 24 px
    assert ev.mask_iou(pred, target, "b") == pytest.approx(1 / 3)
    # differing pixels: 2 x (8 + 8) per image, each |diff| summed over 3 channels
    diff = (torch.tensor([1.0, -1.0, -1.0]) - bg.flatten()).abs().sum()
    assert ev.l1_error(pred, target) == pytest.approx(float(16 * diff / (3 * 64)))
    # hue within / beyond the 15 degree tolerance: red is 0 degrees
    assert ev.colour_accuracy(pred, torch.tensor([10.0, 350.0]), "b") == 1.0
    assert ev.colour_accuracy(pred, torch.tensor([20.0, 0.0]), "b") == 0.5
    # an all-background prediction has no colour: wrong whatever the target
    assert ev.colour_accuracy(bg.repeat(1, 1, 8, 8), torch.tensor([0.0]), "b") == 0.0
    assert ev.mask_iou(bg.repeat(1, 1, 8, 8), bg.repeat(1, 1, 8, 8), "b") == 1.0
    with pytest.raises(ValueError):
        ev.l1_error(pred[:1], target)


def test_dataloader_batch_of_64(train):
    batch = next(iter(DataLoader(train, batch_size=64, shuffle=True)))
    assert set(batch) == {"a", "b"}
    assert batch["a"].shape == batch["b"].shape == (64, 3, 32, 32)
    assert batch["a"].min() >= -1 and batch["a"].max() <= 1
