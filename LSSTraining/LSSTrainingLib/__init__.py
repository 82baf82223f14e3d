"""Qt-free parts of the LSS Training module: the training panel's decision logic and its protocols.

They build on LSSGraderLib (the LSS Grader module's library, which also carries the `lss` engine). Installed,
both libraries share one folder; in a source checkout LSSGraderLib sits in the sibling LSSGrader folder, which
is put on sys.path here when it is not importable yet.
"""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("LSSGraderLib") is None:
    _graderFolder = Path(__file__).resolve().parents[2] / "LSSGrader"
    if (_graderFolder / "LSSGraderLib").is_dir():
        sys.path.append(str(_graderFolder))
