"""Attack tests: one region, acting only with its own legitimate material, against the federation."""
