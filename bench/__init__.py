"""Benchmarks and measurements (``make bench``); a package so that tests can import the generators."""
