"""Command groups of the `xlcalc` CLI, one module each (see xlcalc/cli.py)."""
