"""What a model is, measured once: the zoo, the meta trace, the operator formulas, the pure
analyses over the trace (liveness, cuts, memory models) and the Profile. Knows no hardware."""
