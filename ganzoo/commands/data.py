"""``ganzoo data list`` and ``ganzoo data download NAME``: the catalogue of standard data sets."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list and download standard data sets",
                       description="List the downloadable data sets and fetch them (verified "
                                   "against published checksums where there are any).")
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    d = dsub.add_parser("download", help="download a data set into the data directory")
    d.add_argument("name", help="data set name (see 'ganzoo data list')")
    d.add_argument("--root", default=None, help="folder to put it in (default: under $GANZOO_DATA)")
    d.add_argument("--no-progress", action="store_true", help="no progress bar")
    d.set_defaults(func=run_download)

    ls = dsub.add_parser("list", help="known data sets, whether present, and their folders")
    ls.set_defaults(func=run_list)


def run_download(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..data.catalog import default_root, fetch, get_entry, is_present

    entry = get_entry(args.name)
    root = Path(args.root).expanduser() if args.root else None
    if is_present(entry, root):
        print(f"{entry.title} is already in {root or default_root(entry)}")
        return 0
    folder = fetch(entry, root, progress=not args.no_progress)
    extra = "".join(f", {k}: {v}" for k, v in entry.options.items())
    print(f"{entry.title} is in {folder}; use it with data: {{name: {entry.format}{extra}"
          f"{f', root: {folder}' if root else ''}}}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..data.catalog import CATALOG, default_root, is_present

    rows = []
    for entry in CATALOG.values():
        root = default_root(entry)
        rows.append((entry.name, entry.format, "yes" if is_present(entry, root) else "no", str(root)))
    widths = [max(len(r[i]) for r in rows + [("name", "format", "present", "folder")]) for i in range(3)]
    print(f"{'name':<{widths[0]}}  {'format':<{widths[1]}}  {'present':<{widths[2]}}  folder")
    for name, fmt, present, root in rows:
        print(f"{name:<{widths[0]}}  {fmt:<{widths[1]}}  {present:<{widths[2]}}  {root}")
    return 0
