"""The mistake catalogue (tests/catalogue.py) as the specification of the feedback.

Every wrong answer of the catalogue must fail the notebook's visible check (bpkit.checks.check on
the committed visible-checks.json), the hidden check (check_exercise on fresh seeds, several
cases a run) and the re-check (bpkit_grade.recheck: its call code run here, in this process, on
the fixed and fresh cases of a seed; the results cross the bounded JSON channel and are judged
as bpkit-grade judges them), on every seed; "fail" means less than full marks (an exercise with
several results may keep the share of its right ones). Its feedback must name it; no feedback
may name a different mistake; no student may see a raw exception. Every right answer of the
catalogue must pass on every seed.

    .venv/bin/python -m pytest tests/test_catalogue.py -q -s     (prints the measurement)
    .venv/bin/python tests/test_catalogue.py [SEEDS]             (the measurement alone)
"""
from __future__ import annotations

import contextlib
import io
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from catalogue import CATALOGUE, CORRECT  # noqa: E402

from bpkit.asks import switched_off  # noqa: E402
from bpkit.checks import check  # noqa: E402
from bpkit.credit import Credit  # noqa: E402
from bpkit_grade.exercises import MODULES, check_exercise, for_assignment  # noqa: E402
from bpkit_grade.recheck import _check_one, recheck_cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = range(60)           # re-check seeds per wrong answer
HIDDEN_RUNS = 12            # hidden checks (three cases each) per wrong answer
CORRECT_SEEDS = range(200)  # seeds on which every right answer must pass

#: feedback that names a cause; when the cause named is not the catalogue's, it misleads
DIAGNOSIS = re.compile(r"it looks like you|times the right value|sign is flipped|transposed|"
                       r"one entry per example|averaged|wrong order|same answer for different "
                       r"inputs|did you mean|not its own", re.I)


def visible_path(assignment):
    return ROOT / "solutions" / assignment / "visible-checks.json"


def outcome(run):
    """("pass", "") | ("fail", feedback) | ("raw", exception text): what a student would see.
    A share of the points (bpkit.credit.Credit below full marks) is a fail, with its feedback."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):   # a share of the points prints its feedback
            got = run()
    except AssertionError as e:
        return "fail", str(e)
    except Exception as e:  # noqa: BLE001 -- a raw exception reached the student
        return "raw", f"{type(e).__name__}: {e}"
    if isinstance(got, Credit) and got < got.points:
        return "fail", got.message
    return "pass", ""


def _exercise(entry):
    return next(ex for ex in for_assignment(entry.assignment) if ex.function == entry.function)


class HereKernel:
    """The re-check's kernel, in this process: the student's function defined, the grader's call
    code run with exec (the engine functions it refuses switched off), its stdout streamed to
    the result channel."""

    def __init__(self, fn):
        self.namespace = {fn.__name__: fn}

    def run(self, code, collect=None, refuse=None):
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), switched_off(refuse or ()):
                exec(code, self.namespace)
        except Exception as e:  # noqa: BLE001 -- as a kernel reports an error
            return "error", "", f"{type(e).__name__}: {e}"
        collect(out.getvalue())
        return "ok", "", None


def recheck(entry, seed):
    """bpkit-grade's re-check of the entry's exercise for ``seed`` (bpkit_grade.recheck: the
    fixed cases and fresh ones, one call, the bounded channel, the judgement); raises
    AssertionError with its message unless it gives full marks."""
    ex = _exercise(entry)
    k = for_assignment(entry.assignment).index(ex)   # the exercise's place in its notebook
    (credit, message, forged), _ = _check_one(ex, recheck_cases(ex, seed, k), 60, HereKernel(entry.fn))
    assert not forged, f"an honest answer was taken for tampering: {message}"
    if credit < 1:
        raise AssertionError(message)


def raw_shown(kind, text):
    """An exception shown as Python printed it: escaped, or quoted without the student's line."""
    return kind == "raw" or (" raised " in text and "line" not in text)


def measure(entry, seeds=SEEDS, hidden_runs=HIDDEN_RUNS):
    runs = [("visible", outcome(lambda: check(entry.fn, path=visible_path(entry.assignment))))]
    runs += [("hidden", outcome(lambda s=s: check_exercise(
        entry.assignment, entry.fn, seeds=(1000 + 3 * s, 1001 + 3 * s, 1002 + 3 * s))))
        for s in range(hidden_runs)]
    runs += [("recheck", outcome(lambda s=s: recheck(entry, s))) for s in seeds]
    phrase = entry.phrase.lower()
    named = [phrase in text.lower() for _, (kind, text) in runs]
    return {
        "passed": sum(kind == "pass" for where, (kind, _) in runs if where != "recheck"),
        "recheck_passed": sum(kind == "pass" for where, (kind, _) in runs if where == "recheck"),
        # named where the student works (visible) and where the grade is decided with several
        # cases (hidden): every run
        "named": all(n for (where, _), n in zip(runs, named) if where != "recheck"),
        "named_recheck": sum(n for (where, _), n in zip(runs, named) if where == "recheck"),
        "misleading": [text for (_, (kind, text)), n in zip(runs, named)
                       if not n and DIAGNOSIS.search(text)],
        "raw": [text for _, (kind, text) in runs if raw_shown(kind, text)],
        "example": next((text for (where, (kind, text)) in runs if where == "visible"), ""),
        "recheck_runs": len(seeds),
    }


def measurement(seeds=SEEDS, hidden_runs=HIDDEN_RUNS):
    results = [(entry, measure(entry, seeds, hidden_runs)) for entry in CATALOGUE]
    totals = Counter()
    for entry, m in results:
        totals["wrong answers"] += 1
        totals["wrong passed"] += bool(m["passed"])
        totals["named"] += m["named"]
        totals["misleading"] += bool(m["misleading"])
        totals["raw"] += bool(m["raw"])
        totals["named in every re-check"] += m["named_recheck"] == m["recheck_runs"]
        totals["let through by the re-check on some seed"] += bool(m["recheck_passed"])
    return results, totals


def report(results, totals):
    lines = []
    for entry, m in results:
        flags = [f for f, bad in (("PASSES", m["passed"]), ("unnamed", not m["named"]),
                                  ("MISLEADING", m["misleading"]), ("RAW", m["raw"])) if bad]
        if flags:
            shown = (m["misleading"] or m["raw"] or [m["example"]])[0].replace("\n", " | ")[:300]
            lines.append(f"  {entry.function}/{entry.label} [{', '.join(flags)}] "
                         f"want {entry.phrase!r}: {shown}")
    n = totals["wrong answers"]
    lines.append(f"catalogue: {n} wrong answers, {len({e.function for e in CATALOGUE})} exercises; "
                 f"wrong passed {totals['wrong passed']}, named {totals['named']} "
                 f"({100 * totals['named'] / n:.0f}%), misleading {totals['misleading']}, "
                 f"raw exceptions shown {totals['raw']}; named in every re-check "
                 f"{totals['named in every re-check']}; let through by the re-check on some of "
                 f"{len(SEEDS) if not results else results[0][1]['recheck_runs']} seeds "
                 f"{totals['let through by the re-check on some seed']}")
    return "\n".join(lines)


if __name__ == "__main__":
    seeds = range(int(sys.argv[1])) if len(sys.argv) > 1 else SEEDS
    print(report(*measurement(seeds, hidden_runs=max(1, len(seeds) // 5))))


# ----- the tests ---------------------------------------------------------------------------------
def _id(entry):
    return f"{entry.function}/{entry.label}"


@pytest.mark.parametrize("entry", CORRECT, ids=_id)
def test_a_right_answer_passes_on_every_seed(entry):
    """Tolerances hold: a right answer written differently passes the visible check, the hidden
    check and the re-check on every one of 200 seeds."""
    assert check(entry.fn, path=visible_path(entry.assignment)) >= 4
    for seed in CORRECT_SEEDS:
        check_exercise(entry.assignment, entry.fn, seeds=(seed,), fixed=(seed == 0))
        recheck(entry, seed)


def test_every_exercise_has_six_mistakes_and_a_right_answer():
    assert {e.assignment for e in CATALOGUE} == set(MODULES), "an assignment has no catalogue"
    exercises = {ex.function for a in MODULES for ex in for_assignment(a)}
    assert len(exercises) >= 23
    counts = Counter(e.function for e in CATALOGUE)
    assert {f for f in exercises if counts[f] < 6} == set()
    assert {e.function for e in CORRECT} == exercises


_MEASURED = {}


def measured():
    """The measurement, once per test session (every test below reads it)."""
    if not _MEASURED:
        results, totals = measurement()
        _MEASURED.update(results={_id(e): m for e, m in results}, totals=totals,
                         report=report(results, totals))
    return _MEASURED


@pytest.mark.parametrize("entry", CATALOGUE, ids=_id)
def test_a_wrong_answer_fails_every_run(entry):
    """The visible check, every hidden check and the re-check on every seed fail: the fixed
    cases reach the branch a mistake lives in (a closed gate, a tie, no path), whatever the
    random ones do."""
    m = measured()["results"][_id(entry)]
    assert m["passed"] == 0, f"passed {m['passed']} visible or hidden checks"
    assert m["recheck_passed"] == 0, f"passed {m['recheck_passed']} of {m['recheck_runs']} re-checks"


@pytest.mark.parametrize("entry", CATALOGUE, ids=_id)
def test_the_feedback_names_the_mistake_and_nothing_else(entry):
    m = measured()["results"][_id(entry)]
    assert m["named"], f"not named ({entry.phrase!r}): {m['example']}"
    assert m["misleading"] == [], m["misleading"][0]
    assert m["raw"] == [], m["raw"][0]


def test_measurement(capsys):
    """The counts the issue asks for: 0 wrong answers pass, >= 90% named, none misleading, no
    raw exception shown."""
    data = measured()
    with capsys.disabled():
        print("\n" + data["report"])
    totals = data["totals"]
    assert totals["wrong answers"] >= 6 * len({ex.function for a in MODULES for ex in for_assignment(a)})
    assert totals["wrong passed"] == 0
    assert totals["let through by the re-check on some seed"] == 0
    assert totals["named"] >= 0.9 * totals["wrong answers"]
    assert totals["misleading"] == 0
    assert totals["raw"] == 0
