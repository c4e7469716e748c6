"""Rich renderables, one module per command; only ``render.output`` prints them."""
