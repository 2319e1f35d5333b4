"""Unit conversions shared by the core modules: every scaling in xlcalc is one of these named constants."""

SECONDS_PER_HOUR = 3600.0
FLOPS_PER_TFLOPS = 1e12     # peak_tflops is in 1e12 FLOP/s
BYTES_PER_TBS = 1e12        # mem_bw_tbs is in TB/s of 1e12 bytes
BYTES_PER_GB = 1e9          # memory_gb is in GB of 1e9 bytes
TOKENS_PER_MTOK = 1e6       # prices are per million tokens

#: Relative slack before rounding a count up, so that 140 GB on 70 GB GPUs is 2 GPUs, not 3, after the
#: division rounds 2 to 2.0000000000000004.
CEIL_SLACK = 1e-12
