"""The interconnect columns of the accelerator catalog (xlcalc.data.hardware), used for tensor-parallel all-reduce."""

import io
import math

import pytest

from xlcalc import DataFileError
from xlcalc.data.hardware import gpu, gpu_names, load_catalog

HEADER = "name,peak_tflops_bf16,memory_gb,mem_bw_tbs,source"


class TestInterconnect:
    @pytest.mark.parametrize("name", gpu_names())
    def test_every_accelerator_has_a_sourced_link(self, name):
        acc = gpu(name)
        assert acc.interconnect and acc.interconnect_gbs > 0 and acc.interconnect_latency_us >= 0
        assert "GB/s" in acc.interconnect_source or "Gbps" in acc.interconnect_source or "TB/s" in acc.interconnect_source

    @pytest.mark.parametrize("name, link, gbs", [
        ("A100-80GB", "NVLink 3", 300), ("H100 SXM", "NVLink 4", 450), ("B200", "NVLink 5", 900),
        ("L4", "PCIe Gen4", 32), ("MI300X", "Infinity Fabric", 448), ("TPU v5e", "ICI", 100),
    ])
    def test_one_direction_is_half_the_vendor_total(self, name, link, gbs):
        acc = gpu(name)
        assert acc.interconnect.startswith(link) and acc.interconnect_gbs == gbs

    def test_own_file_without_the_columns(self):
        mine = load_catalog(io.StringIO(f"{HEADER}\nMyChip,100,32,1.0,lab\n"))
        chip = gpu("mychip", catalog=mine)
        assert math.isnan(chip.interconnect_gbs) and math.isnan(chip.interconnect_latency_us)

    def test_zero_latency_allowed_negative_bandwidth_not(self):
        text = f"{HEADER},interconnect_gbs,interconnect_latency_us\nMyChip,100,32,1.0,lab,50,0\n"
        assert gpu("mychip", catalog=load_catalog(io.StringIO(text))).interconnect_latency_us == 0
        bad = f"{HEADER},interconnect_gbs\nMyChip,100,32,1.0,lab,-5\n"
        with pytest.raises(DataFileError, match="line 2: interconnect_gbs = '-5' is not allowed"):
            load_catalog(io.StringIO(bad))
