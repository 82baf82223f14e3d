"""Published adult lumbar morphometry that the phantom's proportions are checked against, and the wider
sagittal-alignment spread applied in the randomised styles only (the classic style keeps its ranges so its
studies stay byte-identical).

Sources (adult, mostly healthy populations; values rounded):

* Vertebral bodies — Panjabi et al., "Human lumbar vertebrae: quantitative three-dimensional anatomy",
  Spine 17(3), 1992: posterior body height ≈ 25–28 mm (L1–L5), upper end-plate width ≈ 40–50 mm and depth
  ≈ 33–36 mm. The phantom (``subject._stack_vertebrae``): heights 25–27 mm, widths 40–50 mm, depths
  29–33 mm (± 6 % body size, ± 5 % per vertebra) — depth on the small side, within one SD.
* Disc height — Amonoo-Kuofi, "Morphometric changes in the heights and anteroposterior diameters of the
  lumbar intervertebral discs with age", J Anat 175, 1991: heights grow caudally to ≈ 10–12 mm at L4/L5
  and L5/S1. Phantom: 8.5, 9.5, 10.5, 11.5, 11.0 mm (L1/L2 … L5/S1) ± 7 %, less what degeneration takes.
* Canal AP diameter — Verbiest, J Bone Joint Surg Br 36, 1954, and Ullrich et al., "Quantitative
  assessment of the lumbar spinal canal by computed tomography", Radiology 134, 1980: mid-sagittal
  diameter ≈ 15–23 mm in normal adults, < 10 mm absolute stenosis. Phantom: 16.5–17.5 mm, × 0.78–0.90 in
  the 6 % of subjects with a congenitally narrow canal.
* Dural sac cross-sectional area — Schönström et al., "The pathomorphology of spinal stenosis as seen on
  CT scans of the lumbar spine", Spine 10, 1985, and Hamanishi et al., "Cross-sectional area of the
  stenotic lumbar dural tube measured from the transverse views of magnetic resonance imaging", J Spinal
  Disord 7, 1994: normal ≈ 130–180 mm², < 100 mm² relative and < 75 mm² absolute stenosis. Phantom:
  healthy sac ≈ 120–160 mm² (measured in ``lss.phantom.grading``), narrowed towards the intended grade.
* Foraminal height — Hasegawa et al., "Lumbar foraminal stenosis: critical heights of the intervertebral
  discs and foramina", J Bone Joint Surg Am 77, 1995: normal ≈ 20–23 mm, root compression likely below
  15 mm (and below 4 mm posterior disc height). Phantom: pedicle-to-pedicle distance follows vertebral
  and disc heights; foraminal grades are measured on the geometry.
* Lordosis and sacral slope — Been & Kalichman, "Lumbar lordosis", Spine J 14, 2014 (L1–S1 ≈ 40–60°,
  mean ≈ 50°, SD ≈ 10°) and Roussouly et al., "Classification of the normal variation in the sagittal
  alignment of the human lumbar spine and pelvis in the standing position", Spine 30, 2005 (sacral slope
  < 35° in types 1–2, 35–45° type 3, > 45° type 4). Classic phantom: lordosis uniform 38–62°, sacral
  slope 32–46° — the flat (type 1–2) and curved (type 4) ends are missing. The randomised styles
  therefore draw lordosis ~ N(50°, 10°) within 25–75° and sacral slope uniform 25–55°.

Only sagittal alignment is widened: the canal, recess and foramen sizes are calibrated against the
grading thresholds (``subject._sample_level_pathology``), so widening them would shift the grade
prevalence; they already lie within the published normal ranges above.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lss.phantom.subject import Subject

LORDOSIS_DEG = (50.0, 10.0, 25.0, 75.0)  # mean, SD, low, high (Been & Kalichman 2014)
SACRAL_SLOPE_DEG = (25.0, 55.0)  # Roussouly et al. 2005, types 1–4


def widen_alignment(subject: Subject, rng: np.random.Generator) -> Subject:
    """A copy of ``subject`` with lordosis and sacral slope drawn from the published spread (randomised
    styles only; ``rng`` is the study's appearance stream, never the classic one)."""
    mean, sd, low, high = LORDOSIS_DEG
    lordosis = float(np.clip(rng.normal(mean, sd), low, high))
    return dataclasses.replace(subject, lordosis_deg=lordosis, sacral_slope_deg=float(rng.uniform(*SACRAL_SLOPE_DEG)))
