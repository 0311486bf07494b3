"""Finding and decoding image files with Pillow.

Decoding asks libjpeg to shrink by 1/2, 1/4 or 1/8 while decoding (Pillow's ``draft``) when the
pipeline resizes down anyway, which skips most of the work for large JPEGs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import DataError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff",
                              ".ppm", ".pgm", ".pbm", ".pnm"})


class BadImage(DataError):
    """An image file that cannot be read (corrupt, truncated, not an image)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"cannot read image {path}: {reason}; replace or delete the file, "
                         f"or set data.skip_bad: true to skip unreadable images")


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (any case of extension), sorted by relative path; hidden files
    and folders are ignored, and entries that are not regular files are skipped with a warning
    (:func:`ganzoo.data.walk.list_files`)."""
    from .walk import list_files

    return list_files(folder, is_image_name, recursive=recursive)


def header_ok(path: Path) -> bool:
    """True when Pillow recognises the file from its header (cheap; no pixel decoding)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.size  # noqa: B018 - parsed from the header
        return True
    except Exception:
        return False


def peek_mode_size(path: Path) -> tuple[str, int, int]:
    """(mode, height, width) from the file header."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.mode, img.height, img.width
    except Exception as exc:
        raise BadImage(path, f"{type(exc).__name__}: {exc}") from None


def decode(path: Path, mode: str, draft: tuple[int, int] | None = None) -> Any:
    """The fully loaded Pillow image at ``path`` in ``mode`` ("L" or "RGB").

    ``draft`` (width, height) lets a JPEG decode at a reduced scale no smaller than that size.
    Any failure raises :class:`BadImage` naming the file; a named pipe or device put in the
    file's place is refused before it is opened (reading it would block).
    """
    from PIL import Image

    from .walk import entry_kind

    kind = entry_kind(path)
    if kind != "file":
        raise BadImage(path, f"it is a {kind}, not a regular file")
    try:
        with Image.open(path) as img:
            if draft is not None and img.format == "JPEG":
                img.draft(mode, draft)
            img.load()
            if img.mode == mode:
                return img
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                # composite on black so transparent areas do not show arbitrary colours
                img = img.convert("RGBA")
                background = Image.new("RGBA", img.size, (0, 0, 0, 255))
                img = Image.alpha_composite(background, img)
            elif img.mode in ("I", "I;16", "I;16B", "I;16L"):
                import numpy as np

                arr = np.asarray(img).astype(np.float64)
                scale = 257.0 if arr.max(initial=0) > 255 else 1.0
                img = Image.fromarray((arr / scale).clip(0, 255).astype(np.uint8), "L")
            return img.convert(mode)
    except BadImage:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... on bad files
        raise BadImage(path, f"{type(exc).__name__}: {exc}") from None
