"""One frozen pricing request in, priced scenarios out: feasibility, the binding constraint,
memory by part, latency by part, energy, break-even and sensitivity. Numbers only, no torch."""
