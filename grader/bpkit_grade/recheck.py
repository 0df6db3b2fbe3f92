"""The re-check: run a notebook's student cells in a fresh sandboxed kernel (never its test cells),
call each registered exercise's function there on fresh random inputs, bring the result back
as plain JSON (``bpkit.checks.to_plain``) and judge it here, in the grader's process, with
``bpkit.checks.assert_close`` -- the check a notebook's test cell runs.

Needs no Jupyter to import: the kernel is whatever :func:`recheck` is given (a
:class:`bpkit_grade.kernel.Kernel`).
"""
from __future__ import annotations

import json
import secrets

import numpy as np

from bpkit.checks import assert_close, from_plain, to_plain

#: values cross the kernel boundary as JSON of these (the names ``autograde`` always exported)
encode, decode = to_plain, from_plain


class UnreadableResult(Exception):
    """The kernel printed no result line for the call, or one that does not decode."""


def compare(exercise, got, expected, args=()):
    """Raise AssertionError (with a diagnostic) unless ``got`` matches ``expected``: the same
    check as ``bpkit.checks.check_exercise``, here in the grader's process."""
    if exercise.compare is not None:
        return exercise.compare(got, expected)
    mistakes = exercise.mistakes(*args) if exercise.mistakes is not None else ()
    assert_close(got, expected, exercise.result_names or exercise.function, mistakes=mistakes, inputs=args)


def call_code(nonce: str, function: str, args_json: str) -> str:
    """Kernel code: call ``function`` on the decoded arguments, print nonce + JSON of the result."""
    return ("from bpkit.checks import to_plain as __bpkit_enc, from_plain as __bpkit_dec\n"
            "import json as __bpkit_json\n"
            f"print({nonce!r} + __bpkit_json.dumps(__bpkit_enc({function}("
            f"*__bpkit_dec(__bpkit_json.loads({args_json!r}))))))\n")


def read_result(out: str, nonce: str):
    """The value the call printed after ``nonce`` (its last such line), decoded."""
    lines = [ln for ln in out.splitlines() if ln.startswith(nonce)]
    if not lines:
        raise UnreadableResult("no result line")
    try:
        return decode(json.loads(lines[-1][len(nonce):]))
    except (ValueError, TypeError, KeyError, RecursionError) as e:  # bad JSON, dtype or structure
        raise UnreadableResult(type(e).__name__) from e


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def recheck(nb_path: str, exercises, seed: int, timeout: float, kernel) -> dict:
    """Run the student's cells of one notebook in ``kernel`` (fresh, sandboxed), call each
    exercise's function on fresh inputs, compare here. -> {"verdicts": {grade_id: (passed,
    message)}, "notes": [...]}. Closes the kernel."""
    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and not is_test_cell(c)]
    try:
        done, notes = _run_student_cells(cells, timeout, kernel)
        verdicts = {}
        for k, ex in enumerate(exercises):
            verdicts[ex.grade_id], status = _check_one(ex, np.random.default_rng([seed, k]), timeout, kernel)
            if status in ("hang", "died"):
                kernel.restart(done)
    finally:
        kernel.close()
    return {"verdicts": verdicts, "notes": notes}


def _run_student_cells(cells, timeout, kernel) -> tuple[list[str], list[str]]:
    """-> (the sources that ran, to replay after a restart; notes on those that did not)."""
    done, notes = [], []
    for i, cell in enumerate(cells):
        status, _, _ = kernel.run(cell.source)
        name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"code cell {i + 1}"
        if status in ("hang", "died"):
            notes.append(f"re-check: {name} " + ("hung (ignored the interrupt)" if status == "hang"
                                                  else "killed the kernel"))
            kernel.restart(done)
        elif status == "timeout":
            notes.append(f"re-check: {name} timed out after {timeout} s")
        else:
            done.append(cell.source)
    return done, notes


def _check_one(ex, rng, timeout, kernel) -> tuple[tuple[bool, str], str]:
    """Call one exercise's function in the kernel. -> ((passed, message), the run's status)."""
    args = ex.make_inputs(rng)
    expected = ex.reference(*args)
    nonce = secrets.token_hex(8)
    status, out, err = kernel.run(call_code(nonce, ex.function, json.dumps(encode(list(args)))))
    call = f"{ex.function}(...)"
    if status in ("hang", "timeout"):
        return (False, f"{call} did not return within {timeout} s"), status
    if status == "died":
        return (False, f"{call} killed the kernel (os._exit, crash or memory)"), status
    if err:
        return (False, f"{call} raised {err}"), status
    try:
        got = read_result(out, nonce)
        compare(ex, got, expected, args)
    except AssertionError as e:
        return (False, f"{call} is wrong on fresh inputs: {e}"), status
    except UnreadableResult as e:
        return (False, f"{call} gave no readable result ({e})"), status
    return (True, ""), status
