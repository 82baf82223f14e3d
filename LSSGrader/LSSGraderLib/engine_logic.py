"""What both LSS logic classes offer about the engine: import it, summarise it, install its dependencies."""

from __future__ import annotations

from types import ModuleType

from LSSGraderLib import dependencies, engine


class EngineLogicMixin:
    """Mixed into LSSGraderLogic and LSSTrainingLogic (besides ScriptedLoadableModuleLogic)."""

    @staticmethod
    def importEngine() -> ModuleType:
        """Return the bundled `lss` package (light: no torch)."""
        engine.addEngineToPath()
        import lss

        return lss

    @staticmethod
    def engineSummary() -> engine.EngineSummary:
        """Version and location of the engine, whether torch is installed, which requirements are missing."""
        return engine.engineSummary()

    @staticmethod
    def ensureDependencies(askConfirmation: bool = True) -> bool:
        """torch through the PyTorch extension, the rest through pip (asking first); False if the user declines."""
        return dependencies.ensureDependencies(askConfirmation)
