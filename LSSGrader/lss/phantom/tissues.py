"""Tissue labels of the phantom's anatomy volume and their names in the relaxation tables."""

from __future__ import annotations

from enum import IntEnum


class Tissue(IntEnum):
    """One uint8 label per tissue class painted into the anatomy volumes."""

    AIR = 0
    SKIN = 1
    FAT = 2  # subcutaneous and intermuscular fat
    MUSCLE = 3
    VISCERA = 4
    KIDNEY = 5
    VESSEL = 6
    CORTEX = 7  # cortical bone and endplates
    MARROW = 8
    MARROW_FATTY = 9
    ANNULUS = 10
    NUCLEUS_L1_L2 = 11
    NUCLEUS_L2_L3 = 12
    NUCLEUS_L3_L4 = 13
    NUCLEUS_L4_L5 = 14
    NUCLEUS_L5_S1 = 15
    NUCLEUS_OTHER = 16  # thoracic discs
    CSF = 17
    CAUDA_EQUINA = 18  # roots inside the thecal sac
    NERVE_ROOT = 19  # traversing and exiting roots outside the sac
    EPIDURAL_FAT = 20
    FORAMINAL_FAT = 21
    LIGAMENT = 22  # ligamentum flavum, longitudinal ligaments
    FACET_FLUID = 23
    HERNIATION = 24  # extruded or protruded disc material
    SPINAL_CORD = 25


DEFER = 255  # "ask the coarse body volume" in the fine spine volume

NUCLEUS_BY_LEVEL_INDEX = (
    Tissue.NUCLEUS_L1_L2,
    Tissue.NUCLEUS_L2_L3,
    Tissue.NUCLEUS_L3_L4,
    Tissue.NUCLEUS_L4_L5,
    Tissue.NUCLEUS_L5_S1,
)

BONE = (Tissue.CORTEX, Tissue.MARROW, Tissue.MARROW_FATTY)
THECAL_SAC = (Tissue.CSF, Tissue.CAUDA_EQUINA, Tissue.SPINAL_CORD)
DISC = (Tissue.ANNULUS, *NUCLEUS_BY_LEVEL_INDEX, Tissue.NUCLEUS_OTHER, Tissue.HERNIATION)

# Name of each label in the relaxation tables of lss.phantom.profiles.
RELAXATION_NAME: dict[Tissue, str] = {
    Tissue.AIR: "air",
    Tissue.SKIN: "skin",
    Tissue.FAT: "fat",
    Tissue.MUSCLE: "muscle",
    Tissue.VISCERA: "viscera",
    Tissue.KIDNEY: "kidney",
    Tissue.VESSEL: "vessel",
    Tissue.CORTEX: "cortical_bone",
    Tissue.MARROW: "marrow",
    Tissue.MARROW_FATTY: "fat",
    Tissue.ANNULUS: "disc_annulus",
    **{t: "disc_nucleus" for t in NUCLEUS_BY_LEVEL_INDEX},
    Tissue.NUCLEUS_OTHER: "disc_nucleus",
    Tissue.CSF: "csf",
    Tissue.CAUDA_EQUINA: "nerve",
    Tissue.NERVE_ROOT: "nerve",
    Tissue.EPIDURAL_FAT: "epidural_fat",
    Tissue.FORAMINAL_FAT: "epidural_fat",
    Tissue.LIGAMENT: "ligament",
    Tissue.FACET_FLUID: "facet_fluid",
    Tissue.HERNIATION: "disc_annulus",
    Tissue.SPINAL_CORD: "nerve",
}
