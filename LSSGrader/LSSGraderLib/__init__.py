"""Qt-free parts of the LSS Grader module: engine set-up, dependencies, and the panels' decision logic.

Nothing here imports Qt, torch or the Slicer application at import time, so pytest can test it with fakes;
the Qt widgets in LSSGrader.py and LSSTraining.py are thin skins over these classes.
"""
