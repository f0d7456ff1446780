"""Host facts: memory total and available, the runtime's per-process overhead, the host's name."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

from splitcost.errors import InputError


def host_memory() -> tuple[int, int, str]:
    """(total, available) bytes of host RAM and where they were read."""
    try:
        fields = {}
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, value = line.partition(":")
            parts = value.split()
            if parts and parts[0].isdigit():
                fields[key] = int(parts[0]) * 1024
        return fields["MemTotal"], fields["MemAvailable"], "/proc/meminfo MemTotal, MemAvailable"
    except (OSError, KeyError):
        page = os.sysconf("SC_PAGE_SIZE")
        total = page * os.sysconf("SC_PHYS_PAGES")
        return total, page * os.sysconf("SC_AVPHYS_PAGES"), "sysconf PHYS_PAGES, AVPHYS_PAGES"


def cuda_memory() -> tuple[int, int, str]:
    free, total = torch.cuda.mem_get_info()
    return int(total), int(free), "torch.cuda.mem_get_info() (total, free)"


_RUNTIME_SCRIPT = """
import sys, torch
dev = sys.argv[1]
x = torch.ones(1, 3, 32, 32, device=dev)
w = torch.ones(8, 3, 3, 3, device=dev)
torch.nn.functional.conv2d(x, w)
if dev == "cuda":
    torch.cuda.synchronize()
    free, total = torch.cuda.mem_get_info()
    print("device_used", total - free)
rss = None
try:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
except OSError:
    import resource
    scale = 1 if sys.platform == "darwin" else 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
print("rss", rss)
"""


def runtime_overhead(torch_device: str) -> tuple[int, str]:
    """Per-process memory cost of running a network, measured in a fresh subprocess that
    imports torch and runs one convolution: its resident set on CPU; on CUDA, the device memory
    it takes (its context and allocator), its host RSS given in the note."""
    before = 0
    if torch_device == "cuda":
        free, total = torch.cuda.mem_get_info()
        before = total - free
    try:
        done = subprocess.run([sys.executable, "-c", _RUNTIME_SCRIPT, torch_device],
                              capture_output=True, text=True, timeout=300, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        raise InputError(f"could not measure the runtime overhead in a subprocess: {e}") from None
    values = dict(line.split() for line in done.stdout.splitlines() if line.count(" ") == 1)
    rss = int(values["rss"])
    what = "a 3x3 convolution on 1x3x32x32"
    if torch_device == "cuda":
        used = int(values["device_used"]) - before
        return used, (f"CUDA memory taken by a fresh subprocess that imported torch and ran {what} "
                      f"on the GPU (mem_get_info before/after); its host RSS was "
                      f"{rss / 1e6:.0f} MB")
    return rss, f"VmRSS of a fresh subprocess that imported torch and ran {what} on the CPU"


def host_name(torch_device: str) -> str:
    if torch_device == "cuda":
        return str(torch.cuda.get_device_name())
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()
