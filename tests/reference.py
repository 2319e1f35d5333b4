"""Published figures from ../shared/REFERENCE.md, shared by the tests (sources in each comment)."""

# Sardana et al. 2024, Table 1: (inference tokens, Chinchilla N, exact loss, Chinchilla D, Chinchilla FLOPs,
# N*, D*, FLOPs*, reduction). The paper prints "6.33M" for 6.325e8 (a typo for 633M) and losses rounded to
# 2 decimals; the exact losses of the Chinchilla models are what it used. REFERENCE.md lists the 13B loss as
# 2.045280, but L(13e9, D_chin) = 2.0452818 at 50 digits (tests/test_laws.py checks it with mpmath), so
# the sixth decimal is 2.045282.
TABLE_1 = [
    (50e9, 1e9, 2.531120, 2.743e10, 2.646e20, 6.325e8, 4.676e10, 2.407e20, 0.09014),
    (200e9, 7e9, 2.127426, 2.764e11, 1.441e22, 5.400e9, 3.666e11, 1.404e22, 0.02598),
    (1e12, 13e9, 2.045282, 5.765e11, 7.097e22, 8.323e9, 9.669e11, 6.493e22, 0.08505),
    (5e12, 30e9, 1.958253, 1.556e12, 5.801e23, 1.641e10, 3.265e12, 4.856e23, 0.1628),
    (10e12, 70e9, 1.891792, 4.255e12, 3.187e24, 4.155e10, 7.923e12, 2.806e24, 0.1195),
]

# Table 2 under the paper's stated assumptions (what its public code computes): training A100-80GB
# $1.50/h at 312 TFLOP/s bf16, MFU 0.5; inference A100-40GB $1.10/h int8 at 624 TOP/s, MFU 0.5 prefill and
# 0.01 decode; 70 input + 215 output tokens per request. (requests, Chinchilla N, Chinchilla $, N*, D*,
# optimal $, saving). The printed table is 9-10% lower on costs: every printed cell is reproduced only if
# inference costs are multiplied by 0.8968, which nothing in the paper explains; its "430B" is a typo for
# 4.30B. We test the stated assumptions, not the unexplained factor.
TABLE_2_HARDWARE = dict(train_usd_per_hour=1.50, train_peak_tflops=312, infer_usd_per_hour=1.10,
                        infer_peak_tflops=624, mfu_train=0.5, mfu_prefill=0.5, mfu_decode=0.01)
TABLE_2_INPUT_TOKENS, TABLE_2_OUTPUT_TOKENS = 70, 215
TABLE_2 = [
    (1.754e8, 1e9, 4158, 3.181e8, 1.623e11, 2010, 0.5165),
    (7.018e8, 7e9, 1.351e5, 2.815e9, 9.826e11, 8.620e4, 0.3620),
    (3.509e9, 13e9, 1.087e6, 4.185e9, 3.313e12, 5.335e5, 0.5092),
    (1.754e10, 30e9, 1.190e7, 8.377e9, 1.293e13, 4.850e6, 0.5925),
    (3.509e10, 70e9, 5.683e7, 2.098e10, 2.924e13, 2.543e7, 0.5525),
]


def rel(digits_text_value):
    """Relative tolerance of a figure printed to 4 significant digits (half a unit in the last place)."""
    return 5e-4 * 1.0001
