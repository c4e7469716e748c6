"""``mfi plan``: will it run: per-layer layout, memory at a context length, runtimes, capabilities, the files around the weights."""
