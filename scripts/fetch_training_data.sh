#!/usr/bin/env bash
# Install the real imagery that the package registries provide (docs/demo_model.md, "Data sources") into a
# git-ignored folder, without root: Debian packages are fetched with `apt-get download` and unpacked with
# dpkg-deb (only the files used), scikit-image's wheel with `pip download` (only its shipped sample photos).
# Nothing here is committed and nothing downloads at run time: this is a set-up step, like setup_env.sh.
# Idempotent: a source whose stamp file exists is not fetched again (delete DEST/<source> to refetch).
#
# Usage: scripts/fetch_training_data.sh [--opencv-doc-only] [DEST]      (DEST default: data/registry)
#   --opencv-doc-only   only Debian's opencv-doc (~96 MB download, 28 MB unpacked): the labelled clips' videos
#                       and its sample photos, what the tests need (scripts/test.sh runs this)
# Environment: PYTHON (default .venv/bin/python, else python3) runs `pip download` for scikit-image.
set -euo pipefail
cd "$(dirname "$0")/.."

OPENCV_DOC_ONLY=0
if [ "${1:-}" = "--opencv-doc-only" ]; then OPENCV_DOC_ONLY=1; shift; fi
DEST="${1:-data/registry}"
PYTHON_BIN="${PYTHON:-}"
if [ -z "$PYTHON_BIN" ]; then
  if [ -x .venv/bin/python ]; then PYTHON_BIN=.venv/bin/python; else PYTHON_BIN=python3; fi
fi
SKIMAGE_VERSION=0.26.0
# scikit-image's shipped sample photos whose licence its docs state (CC0 or public domain; docs/demo_model.md).
SKIMAGE_IMAGES="astronaut.png brick.png camera.png chelsea.png coffee.png grass.png gravel.png hubble_deep_field.jpg rocket.jpg"

step() { printf '[fetch] %s\n' "$*" >&2; }
fail() { printf 'fetch_training_data.sh: error: %s\n' "$*" >&2; exit 2; }

mkdir -p "$DEST/downloads"
DOWNLOADS="$(cd "$DEST/downloads" && pwd)"

# deb_fetch PACKAGE: the package's .deb in DOWNLOADS (downloaded once; apt checks it against the signed index).
deb_fetch() {
  local package="$1" deb
  deb="$(ls "$DOWNLOADS/${package}"_*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: install the Debian package '$package' by other means and unpack it into $DEST/$package"
    step "downloading Debian package $package ..."
    (cd "$DOWNLOADS" && apt-get download "$package" >/dev/null 2>"$DOWNLOADS/$package.log") \
      || fail "apt-get download $package failed (see $DOWNLOADS/$package.log; run 'apt-get update' first?)"
    deb="$(ls "$DOWNLOADS/${package}"_*.deb | head -n1)"
  fi
  printf '%s\n' "$deb"
}

# deb_unpack PACKAGE MEMBER...: extract only the named members (tar patterns) into DEST/PACKAGE; the package
# version goes to DEST/PACKAGE/.stamp, whose presence skips the package next time.
deb_unpack() {
  local package="$1" deb target
  shift
  target="$DEST/$package"
  if [ -f "$target/.stamp" ]; then step "$package: already in $target"; return; fi
  deb="$(deb_fetch "$package")"
  rm -rf "$target" && mkdir -p "$target"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$target" --wildcards "$@"
  dpkg-deb -f "$deb" Version > "$target/.stamp"
  step "$package $(cat "$target/.stamp"): unpacked into $target"
}

OPENCV_DOC=./usr/share/doc/opencv-doc
deb_unpack opencv-doc "$OPENCV_DOC/copyright" "$OPENCV_DOC/examples/data/*" \
  "$OPENCV_DOC/opencv4/html/box.mp4.gz" "$OPENCV_DOC/opencv4/html/cup.mp4.gz"
if [ "$OPENCV_DOC_ONLY" = 0 ]; then
  deb_unpack mate-backgrounds ./usr/share/doc/mate-backgrounds/copyright "./usr/share/backgrounds/mate/nature/*"
fi
# The tracking tutorial's clips are shipped gzip-compressed: keep a playable copy next to each.
for clip in "$DEST/opencv-doc/$OPENCV_DOC/opencv4/html/"*.mp4.gz; do
  [ -f "$clip" ] && [ ! -f "${clip%.gz}" ] && gunzip -k "$clip"
done

if [ "$OPENCV_DOC_ONLY" = 0 ]; then
  target="$DEST/scikit-image"
  if [ -f "$target/.stamp" ]; then
    step "scikit-image: already in $target"
  else
    step "downloading the scikit-image $SKIMAGE_VERSION wheel (its sample photos only) ..."
    "$PYTHON_BIN" -m pip download --disable-pip-version-check --no-deps --only-binary :all: \
      "scikit-image==$SKIMAGE_VERSION" -d "$DOWNLOADS" >"$DOWNLOADS/scikit-image.log" 2>&1 \
      || fail "pip download scikit-image==$SKIMAGE_VERSION failed (see $DOWNLOADS/scikit-image.log)"
    wheel="$(ls "$DOWNLOADS"/scikit_image-"$SKIMAGE_VERSION"-*.whl | head -n1)"
    rm -rf "$target" && mkdir -p "$target"
    members=("scikit_image-$SKIMAGE_VERSION.dist-info/LICENSE.txt" skimage/data/_fetchers.py)
    for image in $SKIMAGE_IMAGES; do members+=("skimage/data/$image"); done
    "$PYTHON_BIN" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], sys.argv[3:])' \
      "$wheel" "$target" "${members[@]}"
    printf '%s\n' "$SKIMAGE_VERSION" > "$target/.stamp"
    step "scikit-image $SKIMAGE_VERSION: sample photos in $target/skimage/data"
  fi
fi
step "done: $(du -sh "$DEST" --exclude downloads 2>/dev/null | cut -f1) in $DEST (downloads kept in $DOWNLOADS)"
