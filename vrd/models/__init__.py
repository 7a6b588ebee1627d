"""Model helpers: resolving names, loading models with clear errors, and tiny test checkpoints."""
