"""The local federation for the demo and tests, and the production-shape scripts; not part of the
installed package."""
