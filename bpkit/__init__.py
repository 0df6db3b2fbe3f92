"""bpkit: a small engine for computational graphs and backpropagation."""
