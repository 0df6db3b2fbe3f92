"""The re-check: run a notebook's student cells in a fresh sandboxed kernel (never its test cells),
call each registered exercise's function there on the cases the hidden test tries (the fixed
decisive ones of ``bpkit_grade.exercises.cases``, then fresh random ones), bring the results back
as plain JSON (``bpkit.checks.to_plain``) and judge them here, in the grader's process, with
``bpkit.checks.check_cases`` -- the check a notebook's test cell runs. An exercise with several
results (``partial``) scores each result's share (``bpkit.credit.judge``).

Needs no Jupyter to import: the kernel is whatever :func:`recheck` is given (a
:class:`bpkit_grade.runner.Runner`).
"""
from __future__ import annotations

import json
import secrets

import numpy as np

from bpkit.checks import assert_close, check_cases, from_plain, to_plain
from bpkit.credit import feedback, judge

from bpkit_grade.exercises import cases, method_cases

#: values cross the kernel boundary as JSON of these (the names ``autograde`` always exported)
encode, decode = to_plain, from_plain
#: fresh random cases per exercise, after its fixed ones
FRESH = 3
#: characters of the message kept of one case that raised in the kernel
MAX_RAISED = 1000


class UnreadableResult(Exception):
    """The kernel printed no result line for the call: a wrong answer (e.g. ``print`` rebound)."""


class ForgedResult(UnreadableResult):
    """The kernel sent what the grader's own call code cannot print: a second result line, one
    that is not JSON, too long, nested too deep, too many values, or an array that is not plain
    numbers. Tampering (student code wrote to the channel), flagged."""


#: dtypes a result array may have (what ``to_plain`` of a number array gives); "V200000000",
#: "(1000,1000)f8", "O" and strings are refused
NUMBER_DTYPES = frozenset(["bool", "float16", "float32", "float64"]
                          + [f"{u}int{b}" for u in ("", "u") for b in (8, 16, 32, 64)])


class ResultLines:
    """The result lines of one call, taken from its stdout as it streams in (``feed``): lines
    that start with ``marker``, at most two kept (one is a result, two is tampering), each at
    most ``max_len`` characters (a longer one is only counted). Every other line is dropped as it
    arrives, so this holds at most ``2 * max_len`` characters whatever the kernel prints."""

    def __init__(self, marker: str, max_len: int):
        self.marker, self.max_len = marker, max_len
        self.lines, self.count, self.overlong = [], 0, 0
        self._cur, self._len, self._state = [], 0, "start"  # start, keep, skip (not ours), long

    def feed(self, text: str) -> None:
        pos = 0
        while pos < len(text):
            nl = text.find("\n", pos)
            self._add(text[pos:] if nl < 0 else text[pos:nl])
            if nl < 0:
                return
            self._end_line()
            pos = nl + 1

    def done(self) -> "ResultLines":
        """The output is complete: an unterminated last line counts too."""
        if self._len or self._cur:
            self._end_line()
        return self

    def _add(self, piece: str) -> None:
        if self._state == "skip":
            return
        self._len += len(piece)
        if self._state == "long":
            return
        self._cur.append(piece)
        if self._state == "start" and self._len >= len(self.marker):
            head = "".join(self._cur)
            self._cur = [head]
            self._state = "keep" if head.startswith(self.marker) else "skip"
        if self._state == "skip" or self._len > self.max_len:
            self._state = "long" if self._state != "skip" else "skip"
            self._cur = []

    def _end_line(self) -> None:
        line = "".join(self._cur)
        if self._state == "long":
            self.count, self.overlong = self.count + 1, self.overlong + 1
        elif self._state == "keep":
            self.count += 1
            if len(self.lines) < 2:
                self.lines.append(line)
        self._cur, self._len, self._state = [], 0, "start"


def result_limits(expected) -> tuple[int, int, int]:
    """-> (characters of the result line, values, nesting depth) a result may have: a small
    multiple of the reference result's (room for honest mistakes such as an outer product where
    a vector was expected), never less than a small floor."""
    try:
        plain = encode(expected)
        chars = len(json.dumps(plain))
    except (TypeError, ValueError):  # a reference result to_plain cannot write: default bounds
        plain, chars = None, 0
    values, depth = _shape(plain)
    return max(16_384, 8 * chars), max(1024, 8 * values), depth + 2


def cases_limits(expected: list) -> tuple[int, int, int]:
    """:func:`result_limits` of one call that returns a list, one result per case: each case's
    room added up (each case is bounded as a call of its own was), one more nesting level."""
    limits = [result_limits(e) for e in expected] or [result_limits(None)]
    return sum(c for c, _, _ in limits), sum(v for _, v, _ in limits), max(d for _, _, d in limits) + 1


def _shape(v, depth=0) -> tuple[int, int]:
    """-> (values, nesting depth) of a plain (JSON) value."""
    if isinstance(v, dict) and "__ndarray__" in v:
        a = np.asarray(v["__ndarray__"])
        return max(1, a.size), depth + 1 + a.ndim
    if isinstance(v, (list, dict)):
        items = v.values() if isinstance(v, dict) else v
        sub = [_shape(x, depth + 1) for x in items] or [(0, depth + 1)]
        return 1 + sum(n for n, _ in sub), max(d for _, d in sub)
    return 1, depth


def compare(exercise, got, expected, args=()):
    """Raise AssertionError (with a diagnostic) unless ``got`` matches ``expected``: the same
    check as ``bpkit.checks.check_exercise``, here in the grader's process."""
    if exercise.compare is not None:
        return exercise.compare(got, expected)
    mistakes = exercise.mistakes(*args) if exercise.mistakes is not None else ()
    assert_close(got, expected, exercise.result_names or exercise.function, mistakes=mistakes, inputs=args)


def call_code(nonce: str, function: str, cases_json: str, within: list) -> str:
    """Kernel code: call ``function`` on each decoded argument tuple (``bpkit.checks.call``), print
    nonce + JSON of the list of results; a case that raised gives ``{"__raised__": message}``.
    ``within``: for each case, None or its ``(limits, why)`` (``bpkit.checks.call_within``)."""
    unsent = f"{function} returned a value that is not numbers: "
    within = json.dumps(within)
    return ("from bpkit.checks import call as __bpkit_call, call_within as __bpkit_within\n"
            "from bpkit.checks import to_plain as __bpkit_enc, from_plain as __bpkit_dec\n"
            "import json as __bpkit_json\n"
            "def __bpkit_one(f, args, within):\n"
            "    try:\n"
            "        result = __bpkit_within(*within, f, *args) if within else __bpkit_call(f, *args)\n"
            "    except AssertionError as e:\n"
            f"        return {{'__raised__': str(e)[:{MAX_RAISED}]}}\n"
            "    try:\n"
            "        return __bpkit_enc(result)\n"
            "    except Exception as e:\n"
            f"        return {{'__raised__': ({unsent!r} + f'{{type(e).__name__}}: {{e}}')[:{MAX_RAISED}]}}\n"
            f"print({nonce!r} + __bpkit_json.dumps([__bpkit_one({function}, __a, __w) for __a, __w in "
            f"zip(__bpkit_dec(__bpkit_json.loads({cases_json!r})), __bpkit_json.loads({within!r}))]))\n")


def recheck_cases(ex, seed: int, k: int) -> list[tuple]:
    """The argument tuples the re-check tries for exercise number ``k`` of a notebook: the fixed
    cases of the hidden test, then FRESH random ones drawn from (``seed``, ``k``)."""
    return cases(ex, np.random.SeedSequence([seed, k]).generate_state(FRESH))


def _replay(function: str, results: list):
    """A stand-in for the student's function that gives its results from the kernel in order
    (``{"__raised__": message}``: the case raised)."""
    results = iter(results)

    def again(*args):
        got = next(results)
        if isinstance(got, dict) and set(got) == {"__raised__"}:
            raise AssertionError(str(got["__raised__"]))
        return got
    again.__name__ = function
    return again


def judge_results(ex, todo, results) -> tuple[float, str]:
    """The verdict on an exercise's results from the kernel (``todo``: the cases, as
    ``(inputs, expected, mistakes)``, a method case's limits after them, held in the kernel).
    -> (the share of its points earned, 0..1; the message)."""
    call, fn = f"{ex.function}(...)", _replay(ex.function, results)
    todo = [case[:3] for case in todo]

    def wrong(problem):
        head = f"{ex.function} raised "
        return f"{call} raised {problem[len(head):]}" if problem.startswith(head) else f"{call} is wrong: {problem}"
    if ex.compare is not None:
        try:
            for args, expected, *_ in todo:
                ex.compare(fn(*args), expected)
        except AssertionError as e:
            return 0.0, wrong(str(e))
        return 1.0, ""
    if ex.partial:
        right, problem = judge(fn, todo, ex.result_names)
        if all(right):
            return 1.0, ""
        if not any(right):
            return 0.0, wrong(problem)
        return sum(right) / len(right), (f"{call} is partly right: {feedback(ex.function, ex.result_names, right, ex.points)}"
                                         f"\n{problem}")
    try:
        check_cases(fn, todo, ex.result_names or ex.function)
    except AssertionError as e:
        return 0.0, wrong(str(e))
    return 1.0, ""


def read_result(lines: ResultLines, expected=None, limits=None):
    """The one result the call printed (``lines``: its result lines), decoded within the bounds
    of ``expected`` (the reference result for the same inputs, see :func:`result_limits`), or
    within ``limits`` when given (:func:`cases_limits`).
    Raises UnreadableResult when there is none, ForgedResult when it is not what the grader's
    call code prints."""
    lines.done()
    if lines.count == 0:
        raise UnreadableResult("no result line")
    if lines.count > 1:
        raise ForgedResult(f"{lines.count} result lines for one call, where the grader prints one")
    if lines.overlong:
        raise ForgedResult(f"a result line longer than {lines.max_len} characters")
    _, max_values, max_depth = limits or result_limits(expected)
    try:
        plain = json.loads(lines.lines[0][len(lines.marker):])
    except (ValueError, RecursionError) as e:  # bad JSON, a 10,000-digit integer, deep nesting
        raise ForgedResult(f"the result line is not JSON ({type(e).__name__})") from e
    return decode_bounded(plain, max_values, max_depth)


def decode_bounded(plain, max_values: int, max_depth: int):
    """``decode(plain)``, refusing (ForgedResult) more than ``max_values`` values, nesting deeper
    than ``max_depth``, and arrays that are not plain numbers of a NUMBER_DTYPES dtype."""
    budget = [max_values]

    def count(n=1):
        budget[0] -= n
        if budget[0] < 0:
            raise ForgedResult(f"more than {max_values} values in the result")

    def walk(v, depth):
        if depth > max_depth:
            raise ForgedResult(f"the result is nested deeper than {max_depth} levels")
        count()
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list):
            return [walk(x, depth + 1) for x in v]
        if "__ndarray__" in v:
            return array(v, depth)
        return {k: walk(x, depth + 1) for k, x in v.items()}

    def numbers(v, depth):  # the nested lists of an array: numbers only, within the bounds
        if depth > max_depth:
            raise ForgedResult(f"the result is nested deeper than {max_depth} levels")
        if isinstance(v, list):
            count(len(v))
            for x in v:
                numbers(x, depth + 1)
        elif not isinstance(v, (bool, int, float)):
            raise ForgedResult(f"an array holds a {type(v).__name__}, not a number")

    def array(v, depth):
        if set(v) != {"__ndarray__", "dtype"} or v["dtype"] not in NUMBER_DTYPES:
            dtype = str(v.get("dtype"))[:40]
            raise ForgedResult(f"an array of dtype {dtype!r} (plain numbers only: "
                               "bool, int, uint, float)" if set(v) == {"__ndarray__", "dtype"}
                               else f"an array with the keys {sorted(v)[:5]}")
        numbers(v["__ndarray__"], depth + 1)
        try:
            return np.array(v["__ndarray__"], dtype=v["dtype"])
        except (ValueError, TypeError, OverflowError) as e:  # ragged, or 10**30 as int64
            raise ForgedResult(f"an array that does not decode ({type(e).__name__})") from e

    return walk(plain, 0)


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def recheck(nb_path: str, exercises, seed: int, timeout: float, kernel) -> dict:
    """Run the student's cells of one notebook in ``kernel`` (fresh, sandboxed), call each
    exercise's function on its cases (:func:`recheck_cases`), judge here. -> {"verdicts":
    {grade_id: (credit, message, forged)}, "notes": [...], "refused": [...]}; ``refused``: what
    the process's guard refused student code (bpkit_grade.guard); ``credit``: the share of the points
    earned (1.0 right, 0.0 wrong, between for some results of several); ``forged``: the result
    channel was tampered with (ForgedResult). Closes the kernel."""
    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and not is_test_cell(c)]
    try:
        done, notes = _run_student_cells(cells, timeout, kernel)
        verdicts = {}
        for k, ex in enumerate(exercises):
            verdicts[ex.grade_id], status = _check_one(ex, recheck_cases(ex, seed, k), timeout, kernel)
            if status in ("hang", "died"):
                kernel.restart(done)
    finally:
        kernel.close()
    return {"verdicts": verdicts, "notes": notes, "refused": list(getattr(kernel, "refused", []))}


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


def _check_one(ex, arg_tuples, timeout, kernel) -> tuple[tuple[float, str, bool], str]:
    """Call one exercise's function in the kernel on each case.
    -> ((credit, message, forged), the run's status)."""
    todo = [(args, ex.reference(*args), ex.mistakes(*args) if ex.mistakes is not None else (), None)
            for args in arg_tuples] + method_cases(ex)
    limits = cases_limits([case[1] for case in todo])
    nonce = secrets.token_hex(8)
    lines = ResultLines(nonce, limits[0] + len(nonce))
    code = call_code(nonce, ex.function, json.dumps(encode([list(case[0]) for case in todo])),
                     [case[3] for case in todo])
    # in a copy of the process made for the call, with the engine functions it asks for switched
    # off; without any, here (a copy costs a fork: 4.6 ms against 0.3 ms, docs/instructor.md)
    status, _, err = kernel.run(code, collect=lines.feed, refuse=ex.asks_for or None)
    call = f"{ex.function}(...)"
    if status in ("hang", "timeout"):
        return (0.0, f"{call} did not return within {timeout} s", False), status
    if status == "died":
        return (0.0, f"{call} killed the kernel (os._exit, crash or memory)", False), status
    if err:
        return (0.0, f"{call} raised {err}", False), status
    try:
        results = read_result(lines, limits=limits)
        if not isinstance(results, list) or len(results) != len(todo):
            raise ForgedResult(f"not a list of {len(todo)} results, as the grader's call code prints")
    except ForgedResult as e:
        return (0.0, f"{call}: the result channel was tampered with: {e}", True), status
    except UnreadableResult as e:
        return (0.0, f"{call} gave no readable result ({e})", False), status
    credit, message = judge_results(ex, todo, results)
    return (credit, message, False), status
