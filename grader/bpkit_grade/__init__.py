"""bpkit-grade: the instructor's side of the bpkit course.

Students never install this package. It holds what would give answers away or start processes:
the exercise registry (references, input generators, the catalogue of typical mistakes), the
``bpkit-grade`` command (sandboxed, re-checked autograding with nbgrader), the sandbox, the
nbgrader extensions, and the command that writes the student edition. It imports ``bpkit``;
``bpkit`` never imports it.
"""
