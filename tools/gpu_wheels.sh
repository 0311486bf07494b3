#!/usr/bin/env bash
# Wheelhouse for an offline GPU machine: the wheels of every ganzoo runtime dependency that its
# Python 3.12 image (torch with CUDA, numpy, scipy, pyyaml, pluggy, tensorboard, tqdm, matplotlib,
# Pillow, pytest) lacks, for CPython 3.12 on x86-64 Linux, with their own dependencies.
#
#   bash tools/gpu_wheels.sh            # download into .whl/ (needs a package index)
#   bash tools/gpu_wheels.sh DIR        # ... into DIR
#   bash tools/gpu_wheels.sh --list     # print what it would fetch, download nothing
#
# The list is read from pyproject.toml ([project] dependencies and [build-system] requires, the
# latter because the GPU machine installs ganzoo with --no-build-isolation), minus what the image
# has, so a dependency added later is picked up. EXTRA names packages that work in progress is
# adding to pyproject.toml; once they are there, listing them here too changes nothing.
# Environment: PYTHON (default python3), GPU_WHEELS_PYPROJECT (another pyproject.toml, for tests).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
PYPROJECT="${GPU_WHEELS_PYPROJECT:-$ROOT/pyproject.toml}"
IMAGE_HAS="torch numpy scipy pyyaml pluggy tensorboard tqdm matplotlib pillow pytest"
EXTRA="pooch packaging requests safetensors"

mode=download
dest="$ROOT/.whl"
for arg in "$@"; do
    case "$arg" in
        --list|--dry-run) mode=list ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "gpu_wheels.sh: unknown option $arg (use --list or a target folder)" >&2; exit 2 ;;
        *) dest="$arg" ;;
    esac
done

# Requirement strings to fetch, one a line (names compared PEP 503-normalised).
requirements="$("$PYTHON" - "$PYPROJECT" "$IMAGE_HAS" "$EXTRA" <<'EOF'
import re
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

path, image_has, extra = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
with open(path, "rb") as f:
    data = tomllib.load(f)
wanted = list(data.get("project", {}).get("dependencies", []))
wanted += data.get("build-system", {}).get("requires", []) + extra


def name(req: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req).group(1)).lower()


skip = {name(n) for n in image_has}
seen = set()
for req in wanted:
    n = name(req)
    if n not in skip and n not in seen:
        seen.add(n)
        print(req.strip())
EOF
)"

if [ -z "$requirements" ]; then
    echo "gpu_wheels.sh: nothing to fetch: the image has every dependency" >&2
    exit 0
fi
mapfile -t reqs <<<"$requirements"
names=()
for r in "${reqs[@]}"; do
    names+=("$(printf '%s' "$r" | sed -E 's/^[[:space:]]*([A-Za-z0-9][A-Za-z0-9._-]*).*/\1/')")
done

if [ "$mode" = list ]; then
    printf '%s\n' "${reqs[@]}"
    exit 0
fi

mkdir -p "$dest"
"$PYTHON" -m pip download --disable-pip-version-check --dest "$dest" \
    --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 "${reqs[@]}"

case "$dest" in
    "$ROOT"/*) shown="${dest#"$ROOT"/}" ;;
    *) shown="$dest" ;;
esac
echo
echo "$(ls "$dest"/*.whl | wc -l) wheels in $shown:"
ls "$dest" | sed 's/^/  /'
echo
echo "On the GPU machine, in the copied repository (with $shown/ in it):"
echo "  pip install --no-index --find-links $shown ${names[*]}"
echo "  pip install --no-deps --no-build-isolation -e ."
echo "  python tools/gpu_check.py"
