"""The Excel face of xlcalc: the functions xlwings exposes (collected in :mod:`xlcalc.udfs`), cell conversion, docs."""
