"""The one grade entry and the one train entry that the command line and the Slicer modules both call."""
