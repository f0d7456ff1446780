"""The JSON paths whose figures follow from a compute time.

Issue 12 refitted the latency model (host/device overlap on GPUs, per-runtime sections fitted to
published measurements, 1x1 convolutions' own efficiency, networks issued back to back pipelining
across them): every compute time and what follows from one (totals, energy, break-even,
sensitivity, fleet sizing) moved on purpose, and so did the compute figures of the profiles. The
JSON kept from before a change (tests/data/premove/, tests/data/prebranch/) must still match in
everything else.
"""

import re

LATENCY_MODEL = re.compile(
    r"(_s\b|_s$|_j\b|_j$|latency|energy|speedup|efficiency|op_overhead|utilisation|"
    r"max_devices|servers_needed|change|flips|crossover|breakeven|sensitivity|pipelined|"
    r"best_total|break_even|bandwidth_bps|rtt|peak_flops|load_per_device|capacity|"
    r"devices_per_server|deadline|percentile|p50|p95|p99|batch_wait|mean_batch|utilization)")
