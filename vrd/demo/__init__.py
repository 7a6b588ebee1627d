"""`vrd demo`: the whole flow on the embedded synth data and tiny local models, on a CPU."""
