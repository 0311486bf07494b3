"""Latent-space tools: the truncation trick's range checks, interpolation paths and strips.

A variant declares what it supports (:class:`~ganzoo.interfaces.Variant`): ``truncation`` ("w",
"z" or None), ``interpolation_space`` ("z": slerp between Gaussian codes; "w": lerp between
mapped w's, where StyleGAN2's generator is close to linear; None: no latent codes) and
``interpolates_classes`` (its generator mixes class embeddings given float class weights).
``ganzoo sample --truncation`` and ``ganzoo interpolate`` check those here, with one line each.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .errors import GanzooError


# -- truncation -----------------------------------------------------------------------------------
def check_truncation(name: str, kind: str | None, psi: float) -> float:
    """``psi`` if the variant's truncation trick (``kind``) takes it, else one line saying why not:
    "w" pulls towards the average w (0 <= psi <= 1), "z" truncates z at +-psi (psi > 0)."""
    if kind is None:
        raise GanzooError(f"--truncation {psi}: variant '{name}' has no truncation trick (stylegan2 "
                          f"and biggan have one); leave --truncation out")
    if kind == "w" and not 0 <= psi <= 1:
        raise GanzooError(f"--truncation {psi}: for variant '{name}' psi pulls w towards the average "
                          f"w and must lie in [0, 1] (1: no truncation, 0: the average image)")
    if kind == "z" and not (psi > 0 and math.isfinite(psi)):
        raise GanzooError(f"--truncation {psi}: for variant '{name}' psi is the threshold z is "
                          f"truncated at and must be a positive number (e.g. 0.5; 2 barely truncates)")
    if kind not in ("w", "z"):
        raise GanzooError(f"variant '{name}' declares an unknown truncation '{kind}' (expected 'w' "
                          f"or 'z'); fix the variant's 'truncation' class attribute")
    return psi


# -- paths between codes --------------------------------------------------------------------------
def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``(N, T, D)``: rows of ``a`` (N, D) moved in a straight line to ``b`` at fractions ``t``
    (T,); exactly ``a`` at t = 0 and ``b`` at t = 1."""
    return torch.lerp(a[:, None], b[:, None], t.to(a)[None, :, None])


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """``(N, T, D)``: the direction moves along the great circle from ``a`` to ``b`` and the norm
    in a straight line from |a| to |b| (so a path between Gaussian codes keeps their typical norm,
    where a straight line would pass near the low-density origin). Exactly ``a`` at t = 0 and
    ``b`` at t = 1; nearly parallel directions fall back to a normalised lerp."""
    t = t.to(a)[None, :, None]
    na, nb = a.norm(dim=1, keepdim=True)[:, None], b.norm(dim=1, keepdim=True)[:, None]
    ua, ub = a[:, None] / na.clamp_min(eps), b[:, None] / nb.clamp_min(eps)
    cos = (ua * ub).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    safe = sin > eps
    great = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.where(safe, sin, 1.0)
    straight = torch.lerp(ua, ub, t)
    straight = straight / straight.norm(dim=-1, keepdim=True).clamp_min(eps)
    out = torch.where(safe, great, straight) * torch.lerp(na, nb, t)
    out = torch.where(t == 0, a[:, None], out)
    return torch.where(t == 1, b[:, None], out)


def class_path(first: int, last: int, steps: int, num_classes: int) -> torch.Tensor:
    """``(steps, K)`` class weights from one-hot ``first`` to one-hot ``last`` (pure at both ends)."""
    t = torch.linspace(0, 1, steps)[:, None]
    eye = torch.eye(num_classes)
    return torch.lerp(eye[first][None], eye[last][None], t)


# -- strips ---------------------------------------------------------------------------------------
def check_interpolation(variant: Any, name: str, info: Any, classes: list[int] | None) -> None:
    """One line if this run cannot draw the strip asked for (declared capabilities only)."""
    if variant.interpolation_space is None:
        raise GanzooError(f"variant '{name}' has no latent codes to interpolate between (it maps "
                          f"images to images: use 'ganzoo translate')")
    if variant.interpolation_space not in ("z", "w"):
        raise GanzooError(f"variant '{name}' declares an unknown interpolation space "
                          f"'{variant.interpolation_space}' (expected 'z' or 'w')")
    if info.kind != "images":
        raise GanzooError(f"'ganzoo interpolate' draws image strips; this run's data '{info.name}' "
                          f"is {info.kind} (use 'ganzoo sample' for a scatter plot)")
    if classes is None:
        return
    if not variant.conditional or not info.num_classes:
        raise GanzooError(f"--classes needs a conditional run; variant '{name}' is unconditional "
                          f"(leave --classes out to interpolate between latent codes)")
    if not variant.interpolates_classes:
        raise GanzooError(f"--classes: variant '{name}' cannot mix classes (its generator takes "
                          f"class labels only); leave --classes out")
    bad = next((k for k in classes if not 0 <= k < info.num_classes), None)
    if bad is not None:
        raise GanzooError(f"--classes {bad} is out of range: this run has classes "
                          f"0..{info.num_classes - 1}")


@torch.no_grad()
def interpolation_inputs(variant: Any, info: Any, rows: int, steps: int, generator: torch.Generator,
                         psi: float | None = None, classes: list[int] | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(codes ``(rows * steps, D)``, labels or class weights, endpoint codes ``(2 rows, D)``).

    Without ``classes`` row r goes from code r to code ``rows + r`` (conditional runs: row r
    draws class r mod K); with ``classes`` (A, B) each row keeps one code and moves from class A
    to class B, so only the class changes along it."""
    t = torch.linspace(0, 1, steps)
    conditional = bool(variant.conditional and info.num_classes)
    if classes is None:
        ends = variant.latent_codes(2 * rows, generator, psi)
        path = slerp if variant.interpolation_space == "z" else lerp
        codes = path(ends[:rows], ends[rows:], t).reshape(rows * steps, -1)
        labels = None
        if conditional:
            labels = (torch.arange(rows) % info.num_classes).repeat_interleave(steps)
        return codes, labels, ends
    ends = variant.latent_codes(rows, generator, psi)
    codes = ends.repeat_interleave(steps, dim=0)
    weights = class_path(classes[0], classes[1], steps, info.num_classes).repeat(rows, 1)
    return codes, weights, ends


@torch.no_grad()
def interpolation_frames(variant: Any, info: Any, rows: int, steps: int, generator: torch.Generator,
                         psi: float | None = None, classes: list[int] | None = None,
                         chunk: int = 256) -> torch.Tensor:
    """``(rows * steps, C, H, W)`` images in [-1, 1], row by row (see :func:`interpolation_inputs`)."""
    codes, labels, _ = interpolation_inputs(variant, info, rows, steps, generator, psi, classes)
    device = variant._device()
    out = []
    for start in range(0, len(codes), chunk):
        part = None if labels is None else labels[start:start + chunk].to(device)
        out.append(variant.from_latent(codes[start:start + chunk].to(device), part).float().cpu())
    return torch.cat(out)
