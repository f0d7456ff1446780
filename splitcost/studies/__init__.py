"""The questions users ask, each a function returning plain results: compare (the report),
sweep (every cut), plan (a fleet), paper (the MTL-Split paper's figures)."""
