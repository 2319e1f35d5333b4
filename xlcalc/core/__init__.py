"""The mathematics of xlcalc: scaling laws, the optima, serving, economics, fits, ranges (numpy and scipy only)."""
