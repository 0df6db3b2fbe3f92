"""nbgrader preprocessors the course adds to stock nbgrader (configured in ``nbgrader_config.py``).

:class:`ShortTestTracebacks` runs in ``generate_feedback``: in autograder test cells it keeps the
error's name and message (the diagnostic the student needs) and drops the traceback, whose frames
quote the cell's source lines, hidden tests included.
"""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution


class ShortTestTracebacks(NbGraderPreprocessor):
    """Replace the traceback of every error in a test cell by its last line, ``Name: message``."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
