"""The `lss` command line."""
