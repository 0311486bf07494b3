"""Image in, image out, for the commands that apply a model to image files (``translate``,
``upscale``, ``inpaint``).

INPUT is an image file (OUTPUT: a file, or a folder to put it in under the same name) or a folder
of images (OUTPUT: a folder; each image keeps its name). Folders are listed with
:func:`ganzoo.data.walk.list_files` (regular files only: named pipes, devices and broken or
looping links are skipped and counted in one warning). Every output path is checked with
:func:`ganzoo.outputs.check_output` before a model is loaded, and written atomically.

Only the standard library at module level: ``ganzoo --help`` imports the command modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pairs(src: Path, dst: Path, force: bool) -> list[tuple[Path, Path]]:
    """(input file, output file) pairs, every output checked (format, not the input, writable)."""
    from ..data.images import is_image_name, list_images
    from ..data.walk import check_regular
    from ..errors import GanzooError
    from ..outputs import check_output

    if src.is_dir():
        files = list_images(src)
        if not files:
            raise GanzooError(f"{src}: no images in this folder")
        if dst.exists() and not dst.is_dir():
            raise GanzooError(f"-o {dst}: INPUT is a folder, so OUTPUT must be a folder, not a file")
        out = [(f, dst / f.name) for f in files]
    elif not src.exists() and not src.is_symlink():
        raise GanzooError(f"{src}: no such file or folder")
    else:
        check_regular(src, "input image")
        out = [(src, dst / src.name if dst.is_dir() or str(dst).endswith(("/", "\\")) else dst)]
    for path, target in out:
        if not is_image_name(target.name):
            raise GanzooError(f"-o {target}: give an image file name (.png, .jpg ...) so the format is known")
        if target.exists() and target.resolve() == path.resolve():
            raise GanzooError(f"-o {target} is the input image itself; choose another output so the "
                              f"input is kept")
        check_output(target, "-o", force=force)
    return out


def read(path: Path, channels: int, what: str = "image") -> Any:
    """The image at ``path`` as a (1, C, H, W) float tensor in [-1, 1]; one line if unreadable."""
    import numpy as np
    import torch

    from ..data.images import BadImage, decode
    from ..errors import GanzooError

    try:
        img = decode(path, "L" if channels == 1 else "RGB")
    except BadImage as exc:
        raise GanzooError(f"cannot read {what} {path}: {exc.reason}; replace the file or leave it out") from None
    arr = np.asarray(img, dtype=np.uint8).reshape(img.height, img.width, channels)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).unsqueeze(0).float().div(127.5).sub(1.0)


def save(image: Any, out: Path, force: bool) -> None:
    """Write a (1, C, H, W) image in [-1, 1] atomically, in the format of the file name."""
    from PIL import Image

    from ..errors import GanzooError
    from ..images import to_uint8
    from ..outputs import write_output

    arr = to_uint8(image)[0]
    picture = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    fmt = Image.registered_extensions().get(out.suffix.lower())
    options = {"quality": 95} if fmt == "JPEG" else {}
    try:
        write_output(out, lambda f: picture.save(f, format=fmt, **options), "-o", force=force)
    except (ValueError, KeyError) as exc:  # e.g. a mode the format cannot store
        raise GanzooError(f"cannot write {out}: {exc}") from None


def load_paired_run(run_dir: str, checkpoint: str | None, device: str, task: str, command: str) -> Any:
    """A trained run whose data is the image-to-image ``task``; one line for any other run."""
    from ..errors import GanzooError
    from ..inference import load_model

    trained = load_model(run_dir, checkpoint, device)
    got = (trained.info.extras or {}).get("task") if trained.info.kind == "paired" else trained.info.kind
    if got != task:
        raise GanzooError(f"{run_dir}: 'ganzoo {command}' needs a run trained for {task.replace('_', '-')} "
                          f"(data 'sr_pairs' or 'inpaint_masks'); this run's data is '{trained.info.name}' "
                          f"({got or trained.info.kind})")
    return trained
