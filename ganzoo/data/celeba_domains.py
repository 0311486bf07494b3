"""``celeba_domains``: CelebA faces as domains of one exclusive attribute group (StarGAN).

StarGAN's CelebA experiments translate hair colour (black, blond, brown) among other attributes.
Here a domain is one attribute of ``domains`` (default the three hair colours), and a face belongs
to the set when exactly one of them is set in ``list_attr_celeba.txt`` (a face with none or two
is left out, so each image has one domain). As in the authors' code the last ``test_size`` of
those faces (in file order) are the test split. Images: the aligned faces in ``root`` (the
catalogue's ``celeba``), attributes: ``attributes`` (the catalogue's ``celeba_attributes``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ..errors import DataError
from .base import DataInfo
from .common import ImageOptions, ImageSource

HAIR = ["Black_Hair", "Blond_Hair", "Brown_Hair"]


class CelebADomainsOptions(ImageOptions):
    domains: list[str] = Field(default_factory=lambda: list(HAIR), min_length=2,
                               description="CelebA attributes, one domain each (a face needs exactly one)")
    attributes: str | None = Field(None, description="list_attr_celeba.txt (default: the catalogue's "
                                                     "celeba_attributes folder)")
    test_size: int = Field(2000, ge=1, description="the last N selected faces form the test split")
    download: bool = Field(False, description="fetch the images and the attributes when missing")


def read_attributes(path: Path, domains: list[str]) -> list[tuple[str, int]]:
    """(file name, domain index) of every face with exactly one of ``domains`` set."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read CelebA attributes {path}: {exc.strerror or exc}; run 'ganzoo data "
                        f"download celeba_attributes' or set data.attributes") from None
    names = lines[1].split() if len(lines) > 1 else []
    unknown = [d for d in domains if d not in names]
    if unknown:
        raise DataError(f"data.domains: {', '.join(unknown)} not among the attributes in {path} "
                        f"(e.g. {', '.join(names[:6]) or 'none found'})")
    cols = [names.index(d) for d in domains]
    out = []
    for line in lines[2:]:
        parts = line.split()
        if len(parts) != len(names) + 1:
            continue
        on = [k for k, c in enumerate(cols) if parts[c + 1] == "1"]
        if len(on) == 1:
            out.append((parts[0], on[0]))
    return out


class CelebADomains(ImageSource):
    """CelebA faces, one domain per attribute of ``domains``; DataInfo.kind is "multi_domain"."""

    Options = CelebADomainsOptions
    default_folder = "celeba"

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._items: list[tuple[str, int]] | None = None

    def _fetch(self) -> tuple[Path, Path]:
        from .catalog import default_root, fetch, get_entry

        root = self.root() if self.options.root else default_root(get_entry("celeba"))
        attrs = Path(self.options.attributes) if self.options.attributes else \
            default_root(get_entry("celeba_attributes")) / "list_attr_celeba.txt"
        if self.options.download:
            fetch(get_entry("celeba"), root)
            fetch(get_entry("celeba_attributes"), attrs.parent)
        return root, attrs

    def _split(self, split: str) -> tuple[list[Path], list[int]]:
        self.check_split(split)
        root, attrs = self._fetch()
        if self._items is None:
            self._items = read_attributes(attrs, list(self.options.domains))
        items = self._items[:self.limited(len(self._items))]
        k = self.options.test_size
        if len(items) <= k:
            raise DataError(f"only {len(items)} CelebA faces have exactly one of {', '.join(self.options.domains)}; "
                            f"lower data.test_size ({k})")
        part = items[:-k] if split == "train" else items[-k:]
        missing = [d for j, d in enumerate(self.options.domains) if all(lab != j for _, lab in part)]
        if missing:
            raise DataError(f"the {split} split has no face of domain {missing[0]}; choose other data.domains")
        return [root / name for name, _ in part], [lab for _, lab in part]

    def info(self) -> DataInfo:
        from .folder import source_shape

        files, _ = self._split("train")
        shape, _ = source_shape(files, self.pipeline(), False)
        return self.make_info("multi_domain", shape, num_classes=len(self.options.domains),
                              class_names=tuple(self.options.domains), num_items=len(files),
                              baseline="identity", task="translation")

    def dataset(self, split: str = "train") -> Any:
        import torch

        from .datasets import FileImages
        from .folder import source_shape
        from .paired_folders import DomainItems

        files, labels = self._split(split)
        pipeline = self.pipeline()
        shape, mode = source_shape(files, pipeline, False)
        return DomainItems(FileImages(files, torch.tensor(labels, dtype=torch.long), pipeline,
                                      pipeline.out_shape(shape), mode, draft=True))
