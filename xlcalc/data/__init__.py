"""The data xlcalc ships and reads: accelerator specs and prices, published model shapes, training runs (CSV)."""
