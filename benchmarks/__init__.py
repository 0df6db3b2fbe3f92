"""Benchmarks of bpkit against micrograd, hand-written NumPy and PyTorch, and the
exponential-versus-dynamic-programming curves. Run ``python -m benchmarks`` (``--quick`` for a
CI-sized run); results go to ``benchmarks/results/`` (results.json, PNG plots, README.md)."""
