"""The OTB-100 sequence definitions of the official toolkits (OTB / pytracking), as data.

One line per official sequence: name, image folder, target (``-`` for ``groundtruth_rect.txt``, ``1`` / ``2``
for ``groundtruth_rect.<n>.txt``), first and last frame *number* (the number in the image file name, 1-based,
inclusive) and init-omit (leading frames and ground-truth rows the toolkit drops, Tiger1 only). The dataset
itself does not state these ranges: its image folders hold more frames than some annotations cover
(David 300-770, BlurCar1 247-988), and Human4's ``groundtruth_rect.1.txt`` is empty.
"""
from __future__ import annotations

from typing import NamedTuple


class OTBSequence(NamedTuple):
    name: str
    folder: str
    target: str  # "" for groundtruth_rect.txt, "1" / "2" for groundtruth_rect.<n>.txt
    first: int
    last: int
    init_omit: int

    @property
    def annotation(self) -> str:
        return f"groundtruth_rect.{self.target}.txt" if self.target else "groundtruth_rect.txt"


_TABLE = """
Basketball    Basketball    -     1   725 0
Biker         Biker         -     1   142 0
Bird1         Bird1         -     1   408 0
Bird2         Bird2         -     1    99 0
BlurBody      BlurBody      -     1   334 0
BlurCar1      BlurCar1      -   247   988 0
BlurCar2      BlurCar2      -     1   585 0
BlurCar3      BlurCar3      -     3   359 0
BlurCar4      BlurCar4      -    18   397 0
BlurFace      BlurFace      -     1   493 0
BlurOwl       BlurOwl       -     1   631 0
Board         Board         -     1   698 0
Bolt          Bolt          -     1   350 0
Bolt2         Bolt2         -     1   293 0
Box           Box           -     1  1161 0
Boy           Boy           -     1   602 0
Car1          Car1          -     1  1020 0
Car2          Car2          -     1   913 0
Car24         Car24         -     1  3059 0
Car4          Car4          -     1   659 0
CarDark       CarDark       -     1   393 0
CarScale      CarScale      -     1   252 0
ClifBar       ClifBar       -     1   472 0
Coke          Coke          -     1   291 0
Couple        Couple        -     1   140 0
Coupon        Coupon        -     1   327 0
Crossing      Crossing      -     1   120 0
Crowds        Crowds        -     1   347 0
Dancer        Dancer        -     1   225 0
Dancer2       Dancer2       -     1   150 0
David         David         -   300   770 0
David2        David2        -     1   537 0
David3        David3        -     1   252 0
Deer          Deer          -     1    71 0
Diving        Diving        -     1   215 0
Dog           Dog           -     1   127 0
Dog1          Dog1          -     1  1350 0
Doll          Doll          -     1  3872 0
DragonBaby    DragonBaby    -     1   113 0
Dudek         Dudek         -     1  1145 0
FaceOcc1      FaceOcc1      -     1   892 0
FaceOcc2      FaceOcc2      -     1   812 0
Fish          Fish          -     1   476 0
FleetFace     FleetFace     -     1   707 0
Football      Football      -     1   362 0
Football1     Football1     -     1    74 0
Freeman1      Freeman1      -     1   326 0
Freeman3      Freeman3      -     1   460 0
Freeman4      Freeman4      -     1   283 0
Girl          Girl          -     1   500 0
Girl2         Girl2         -     1  1500 0
Gym           Gym           -     1   767 0
Human2        Human2        -     1  1128 0
Human3        Human3        -     1  1698 0
Human4_2      Human4        2     1   667 0
Human5        Human5        -     1   713 0
Human6        Human6        -     1   792 0
Human7        Human7        -     1   250 0
Human8        Human8        -     1   128 0
Human9        Human9        -     1   305 0
Ironman       Ironman       -     1   166 0
Jogging_1     Jogging       1     1   307 0
Jogging_2     Jogging       2     1   307 0
Jump          Jump          -     1   122 0
Jumping       Jumping       -     1   313 0
KiteSurf      KiteSurf      -     1    84 0
Lemming       Lemming       -     1  1336 0
Liquor        Liquor        -     1  1741 0
Man           Man           -     1   134 0
Matrix        Matrix        -     1   100 0
Mhyang        Mhyang        -     1  1490 0
MotorRolling  MotorRolling  -     1   164 0
MountainBike  MountainBike  -     1   228 0
Panda         Panda         -     1  1000 0
RedTeam       RedTeam       -     1  1918 0
Rubik         Rubik         -     1  1997 0
Shaking       Shaking       -     1   365 0
Singer1       Singer1       -     1   351 0
Singer2       Singer2       -     1   366 0
Skater        Skater        -     1   160 0
Skater2       Skater2       -     1   435 0
Skating1      Skating1      -     1   400 0
Skating2_1    Skating2      1     1   473 0
Skating2_2    Skating2      2     1   473 0
Skiing        Skiing        -     1    81 0
Soccer        Soccer        -     1   392 0
Subway        Subway        -     1   175 0
Surfer        Surfer        -     1   376 0
Suv           Suv           -     1   945 0
Sylvester     Sylvester     -     1  1345 0
Tiger1        Tiger1        -     1   354 5
Tiger2        Tiger2        -     1   365 0
Toy           Toy           -     1   271 0
Trans         Trans         -     1   124 0
Trellis       Trellis       -     1   569 0
Twinnings     Twinnings     -     1   472 0
Vase          Vase          -     1   271 0
Walking       Walking       -     1   412 0
Walking2      Walking2      -     1   500 0
Woman         Woman         -     1   597 0
"""


def _parse(text: str) -> dict[str, OTBSequence]:
    table = {}
    for line in text.strip().splitlines():
        name, folder, target, first, last, omit = line.split()
        table[name] = OTBSequence(name, folder, "" if target == "-" else target, int(first), int(last), int(omit))
    return table


#: Official name -> definition, for the 100 sequences of OTB-100.
OTB100: dict[str, OTBSequence] = _parse(_TABLE)
