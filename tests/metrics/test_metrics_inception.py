"""The FID Inception v3: key names and shapes, pooling variants, resize, weights loading."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganzoo.errors import GanzooError
from ganzoo.metrics.inception import FIDInceptionV3, load_inception


def _spec_convs() -> list[tuple[str, int, int, int, int]]:
    """(name, in, out, kh, kw) of every BasicConv2d, written from the spec's layer list."""
    convs = [("Conv2d_1a_3x3", 3, 32, 3, 3), ("Conv2d_2a_3x3", 32, 32, 3, 3), ("Conv2d_2b_3x3", 32, 64, 3, 3),
             ("Conv2d_3b_1x1", 64, 80, 1, 1), ("Conv2d_4a_3x3", 80, 192, 3, 3)]
    for name, cin, pf in (("Mixed_5b", 192, 32), ("Mixed_5c", 256, 64), ("Mixed_5d", 288, 64)):
        convs += [(f"{name}.branch1x1", cin, 64, 1, 1), (f"{name}.branch5x5_1", cin, 48, 1, 1),
                  (f"{name}.branch5x5_2", 48, 64, 5, 5), (f"{name}.branch3x3dbl_1", cin, 64, 1, 1),
                  (f"{name}.branch3x3dbl_2", 64, 96, 3, 3), (f"{name}.branch3x3dbl_3", 96, 96, 3, 3),
                  (f"{name}.branch_pool", cin, pf, 1, 1)]
    convs += [("Mixed_6a.branch3x3", 288, 384, 3, 3), ("Mixed_6a.branch3x3dbl_1", 288, 64, 1, 1),
              ("Mixed_6a.branch3x3dbl_2", 64, 96, 3, 3), ("Mixed_6a.branch3x3dbl_3", 96, 96, 3, 3)]
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        convs += [(f"{name}.branch1x1", 768, 192, 1, 1), (f"{name}.branch7x7_1", 768, c7, 1, 1),
                  (f"{name}.branch7x7_2", c7, c7, 1, 7), (f"{name}.branch7x7_3", c7, 192, 7, 1),
                  (f"{name}.branch7x7dbl_1", 768, c7, 1, 1), (f"{name}.branch7x7dbl_2", c7, c7, 7, 1),
                  (f"{name}.branch7x7dbl_3", c7, c7, 1, 7), (f"{name}.branch7x7dbl_4", c7, c7, 7, 1),
                  (f"{name}.branch7x7dbl_5", c7, 192, 1, 7), (f"{name}.branch_pool", 768, 192, 1, 1)]
    convs += [("Mixed_7a.branch3x3_1", 768, 192, 1, 1), ("Mixed_7a.branch3x3_2", 192, 320, 3, 3),
              ("Mixed_7a.branch7x7x3_1", 768, 192, 1, 1), ("Mixed_7a.branch7x7x3_2", 192, 192, 1, 7),
              ("Mixed_7a.branch7x7x3_3", 192, 192, 7, 1), ("Mixed_7a.branch7x7x3_4", 192, 192, 3, 3)]
    for name, cin in (("Mixed_7b", 1280), ("Mixed_7c", 2048)):
        convs += [(f"{name}.branch1x1", cin, 320, 1, 1), (f"{name}.branch3x3_1", cin, 384, 1, 1),
                  (f"{name}.branch3x3_2a", 384, 384, 1, 3), (f"{name}.branch3x3_2b", 384, 384, 3, 1),
                  (f"{name}.branch3x3dbl_1", cin, 448, 1, 1), (f"{name}.branch3x3dbl_2", 448, 384, 3, 3),
                  (f"{name}.branch3x3dbl_3a", 384, 384, 1, 3), (f"{name}.branch3x3dbl_3b", 384, 384, 3, 1),
                  (f"{name}.branch_pool", cin, 192, 1, 1)]
    return convs


def _spec_state_shapes() -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for name, cin, cout, kh, kw in _spec_convs():
        shapes[f"{name}.conv.weight"] = (cout, cin, kh, kw)
        for p in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.bn.{p}"] = (cout,)
    shapes["fc.weight"] = (1008, 2048)
    shapes["fc.bias"] = (1008,)
    return shapes


def test_state_dict_keys_and_shapes_match_the_spec():
    expected = _spec_state_shapes()
    got = {k: tuple(v.shape) for k, v in FIDInceptionV3().state_dict().items()}
    assert set(got) == set(expected)
    assert got == expected
    assert not any("num_batches_tracked" in k or "AuxLogits" in k for k in got)
    assert all(m.eps == 0.001 for m in FIDInceptionV3().modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_a_state_dict_with_exactly_the_spec_keys_loads_strict(tmp_path):
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=g) for k, shape in _spec_state_shapes().items()}
    for k in state:
        if k.endswith("running_var"):
            state[k] = state[k].abs() + 0.5
    path = tmp_path / "w.pth"
    torch.save(state, path)
    net, sha = load_inception(path, output_dims=(64,))
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k])
    # a file that misses a key or is not a state dict is a user error, not a traceback
    state.pop("fc.bias")
    torch.save(state, path)
    with pytest.raises(GanzooError, match="fc.bias"):
        load_inception(path)
    path.write_bytes(b"not a torch file")
    with pytest.raises(GanzooError, match="cannot read"):
        load_inception(path)


def _avg_exclude_pad(x: np.ndarray) -> np.ndarray:
    """3x3, stride 1 average over the in-image part of each window only."""
    out = np.empty_like(x)
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            out[..., i, j] = x[..., max(i - 1, 0):i + 2, max(j - 1, 0):j + 2].mean(axis=(-2, -1))
    return out


def _max_3x3(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            out[..., i, j] = x[..., max(i - 1, 0):i + 2, max(j - 1, 0):j + 2].max(axis=(-2, -1))
    return out


@pytest.mark.parametrize("block,cin,pool", [("Mixed_5b", 192, "avg"), ("Mixed_6b", 768, "avg"),
                                            ("Mixed_7b", 1280, "avg"), ("Mixed_7c", 2048, "max")])
def test_pool_branches_match_an_independent_computation(block, cin, pool):
    torch.manual_seed(0)
    net = FIDInceptionV3()
    module = getattr(net, block)
    x = torch.randn(2, cin, 5, 6)
    ref_pool = _avg_exclude_pad(x.numpy()) if pool == "avg" else _max_3x3(x.numpy())
    with torch.inference_mode():
        out = module(x)
        c = module.branch_pool.conv.out_channels
        expected = module.branch_pool(torch.from_numpy(ref_pool))
        torch.testing.assert_close(out[:, -c:], expected, rtol=1e-5, atol=1e-5)
        # torchvision's variant (zero padding counted) gives a different result at the border
        torchvision_style = module.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        assert (out[:, -c:] - torchvision_style).abs().max() > 1e-3


def _bilinear_reference(img: np.ndarray, size: int) -> np.ndarray:
    """align_corners=False bilinear resize of (H, W), written from the sampling formula
    (source coordinates in float32, as PyTorch computes them for float32 images)."""
    def axis(n_in: int):
        f32 = np.float32
        src = f32(n_in / size) * (np.arange(size, dtype=f32) + f32(0.5)) - f32(0.5)
        src = np.maximum(src, f32(0.0)).astype(np.float64)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0
    r0, r1, ly = axis(img.shape[0])
    c0, c1, lx = axis(img.shape[1])
    top = img[r0][:, c0] * (1 - lx) + img[r0][:, c1] * lx
    bottom = img[r1][:, c0] * (1 - lx) + img[r1][:, c1] * lx
    return top * (1 - ly)[:, None] + bottom * ly[:, None]


@pytest.mark.parametrize("h,w", [(7, 10), (32, 32), (331, 320)])
def test_resize_and_normalisation_match_an_independent_computation(h, w):
    g = torch.Generator().manual_seed(h)
    x = torch.rand(1, 3, h, w, generator=g)
    net = FIDInceptionV3()
    got = net.prepare(x)
    assert got.shape == (1, 3, 299, 299)
    for c in range(3):
        ref = 2 * _bilinear_reference(x[0, c].double().numpy(), 299) - 1
        np.testing.assert_allclose(got[0, c].numpy(), ref, atol=5e-5)  # float32 rounding (FMA)
    if h > 299:  # downsampling: an antialiased resize would differ
        aa = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False, antialias=True)
        assert (2 * aa - 1 - got).abs().max() > 1e-3


def test_grayscale_input_is_repeated_and_feature_sizes(inception_weights):
    net, _ = load_inception(inception_weights, output_dims=(64, 192))
    x = torch.rand(2, 1, 20, 20)
    with torch.inference_mode():
        f64, f192 = net(x)
        f64_rgb, _ = net(x.repeat(1, 3, 1, 1))
    assert f64.shape == (2, 64) and f192.shape == (2, 192)
    torch.testing.assert_close(f64, f64_rgb)
    with pytest.raises(GanzooError, match="32"):
        FIDInceptionV3(output_dims=(32,))


def test_logits_are_pool3_times_fc_weight_without_bias():
    torch.manual_seed(0)
    net = FIDInceptionV3()
    with torch.no_grad():
        net.fc.bias.fill_(5.0)
    with torch.no_grad():
        x = torch.rand(2, 3, 75, 75)
        pool3, logits = net.pool3_and_logits(x)
        (feat,) = net(x)
    torch.testing.assert_close(pool3, feat)
    torch.testing.assert_close(logits, pool3 @ net.fc.weight.T)
    assert logits.shape == (2, 1008)


def test_channels_last_layout_gives_the_same_features():
    torch.manual_seed(0)
    net = FIDInceptionV3(output_dims=(64, 2048))
    x = torch.rand(2, 3, 40, 40)
    with torch.inference_mode():
        ref = net(x)
        got = net.use_channels_last()(x)
    for a, b in zip(ref, got):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    assert net.state_dict().keys() == FIDInceptionV3().state_dict().keys()
