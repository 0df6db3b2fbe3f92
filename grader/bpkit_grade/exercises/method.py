"""Inputs on which only the method an exercise asks for finishes (``Exercise.method_case``).

Notebook 2's dynamic program and notebook 7's forward mode give the same numbers as a sum over
every path; only the cost differs. On :func:`doubled_chain` the difference is a millisecond
against days, so the checks try it with a CPU limit (``bpkit.checks.call_within``).
"""
from __future__ import annotations

#: the CPU seconds a dynamic program may use on :func:`doubled_chain` (bpkit.checks.call_within):
#: one sweep over its edges takes a millisecond, a sum over its paths would run for days
METHOD_SECONDS = 0.5
METHOD_LIMITS = {"seconds": METHOD_SECONDS}


def doubled_chain(k):
    """Vertices 0 .. k, each joined to the next by two edges with z = 1: 2^k paths from 0 to k."""
    return [(i, i + 1, 1.0) for i in range(k) for _ in (0, 1)]


def method_why(k, sweep):
    """What a student whose function enumerates the paths of ``doubled_chain(k)`` is told."""
    return (f"did not finish within {METHOD_SECONDS} s of computing on a chain of {k} doubled edges "
            f"(edges = [(i, i + 1, 1.0) for i in range({k}) for _ in (0, 1)]): that graph has "
            f"2^{k} = {2 ** k:,} paths from vertex 0 to vertex {k}, so a sum over the paths runs "
            f"for days, while the dynamic program takes one step per edge ({2 * k} of them). "
            f"{sweep}")
