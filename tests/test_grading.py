"""bpkit.checks: every diagnosis for the matching wrong answer, quiet calls of student code."""
from __future__ import annotations

import contextlib
import json
import sys
import warnings

import numpy as np
import pytest

import bpkit as bp
import bpkit_grade.exercises as registry
from bpkit_grade.exercises import MODULES, Exercise, for_assignment
from bpkit.checks import NotAnswered, assert_close, call, call_within, check, diagnose, from_plain
from bpkit.credit import Credit
from bpkit_grade.exercises import check_exercise

E = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])   # an expected 2 x 3 answer


E2 = np.array([[-2.0, 0.5, 1.5], [3.0, -1.0, 7.0]])   # the same exercise on other inputs


@pytest.mark.parametrize("got,expected,phrase", [
    (None, 1.0, "no answer yet"),
    (Ellipsis, 1.0, "no answer yet"),
    ("0.25", 0.25, "but it is a str"),
    (np.array(["1", "2"]), np.array([1.0, 2.0]), "should be a number"),
    ({"a": 1}, 0.25, "should be a number"),
    (np.array([1.0, np.nan]), np.array([1.0, 2.0]), "NaN"),
    (np.array([1.0, np.inf]), np.array([1.0, 2.0]), "contains inf"),
    (E.ravel(), E, "the values are right but the shape is (6,)"),
    (np.ones(4), E, "it has shape (4,), expected (2, 3)"),
    (E + 1, E, "it first differs at entry [0, 0]: expected 1, got 2 (6 of 6 entries differ)"),
    (np.array([1.0, 2.5, 3.0]), np.array([1.0, 2.0, 3.0]), "first differs at entry 1"),
    (0.37, 0.25, "the value is wrong"),
])
def test_each_fact(got, expected, phrase):
    """What is a fact about this one answer is always said."""
    message = diagnose(got, expected)
    assert message is not None and phrase in message, message


GUESSES = [   # (what the student computes, expected phrase)
    (lambda e: e.T, "transposed: expected shape (2, 3), got (3, 2)"),
    (lambda e: np.array([e / 2, e / 2]), "one entry per example"),
    (lambda e: -e, "the sign is flipped"),
    (lambda e: 2 * e, "2 times the right value on every input tried"),
    (lambda e: 1.5 * e, "1.5 times the right value"),
]


@pytest.mark.parametrize("wrong,phrase", GUESSES)
def test_a_guess_is_said_only_when_a_second_input_agrees(wrong, phrase):
    alone = diagnose(wrong(E), E)
    assert phrase not in alone and ("first differs" in alone or "it has shape" in alone), alone
    witnessed = diagnose(wrong(E), E, others=[(wrong(E2), E2)])
    assert phrase in witnessed, witnessed


@pytest.mark.parametrize("wrong,phrase", GUESSES)
def test_the_same_case_twice_is_not_a_second_input(wrong, phrase):
    """A worked example that is a visible case too (``credit.parts(also=...)``) came back as its
    own witness: '0.8333 times the right value on every input tried' on one input."""
    alone = diagnose(wrong(E), E, others=[(wrong(E), E.copy())])
    assert phrase not in alone and ("first differs" in alone or "it has shape" in alone), alone


def test_a_guess_that_another_input_contradicts_is_not_said():
    """dw1 = dz1 * w1 where dz1 * x was due looks like '-0.5 times' on one input only."""
    x, w1 = 2.0, -1.0
    assert diagnose(-18.0 * w1, -18.0 * x) == "the value is wrong"
    others = [(-7.0 * 0.5, -7.0 * 1.5)]           # another input: w1 / x = 1/3, not -1/2
    assert diagnose(-18.0 * w1, -18.0 * x, others=others) == "the value is wrong"
    # a sigmoid's derivative f(1-f) replaced by f: dw = x f versus x f (1 - f), a ratio
    # 1/(1 - f) that changes with the input, so no constant factor is claimed
    f1, f2 = 0.731, 0.2
    got, exp = np.array([1.0, 2.0]) * f1, np.array([1.0, 2.0]) * f1 * (1 - f1)
    other = (np.array([3.0, -1.0]) * f2, np.array([3.0, -1.0]) * f2 * (1 - f2))
    assert "times" not in diagnose(got, exp, others=[other])


def test_the_same_answer_for_different_inputs():
    message = diagnose(0.5, 0.25, others=[(0.5, 0.75)])
    assert "same answer for different inputs" in message and "worked example" in message


def test_a_gate_letting_gradient_through():
    e, e2 = np.array([1.0, 0.0, -2.0]), np.array([0.0, 3.0, 0.5])
    message = diagnose(np.array([1.0, 4.0, -2.0]), e, others=[(np.array([-1.0, 3.0, 0.5]), e2)])
    assert "nonzero where the gradient is 0 (entries 1)" in message and "closed gate" in message
    assert "closed gate" not in diagnose(np.array([1.0, 4.0, -2.0]), e)


def test_averaged_instead_of_summed_over_the_batch():
    message = diagnose(E / 4, E, batch_size=4, others=[(E2 / 4, E2)])
    assert "1/4" in message and "averaged" in message


def test_named_mistakes_come_first():
    mistakes = [("used the input of the sigmoid where its output was needed", E * 3 + 1),
                ("forgot the minus sign", -E)]
    assert diagnose(E * 3 + 1, E, mistakes=mistakes) == \
        "it looks like you used the input of the sigmoid where its output was needed"
    assert diagnose(-E, E, mistakes=mistakes) == "it looks like you forgot the minus sign"
    assert diagnose(E, E, mistakes=[("did it right", E)]) is None  # a "mistake" equal to the answer


@pytest.mark.parametrize("got,expected", [
    (0.25, 0.25), (0.25 + 1e-9, 0.25), ([1.0, 2.0], np.array([1.0, 2.0])), (E.copy(), E),
    (bp.var(0.25), 0.25), (np.float32(0.5), 0.5), (3, 3.0), ((0.1, 0.2), (0.1, 0.2)),
])
def test_correct_answers_pass(got, expected):
    assert diagnose(got, expected) is None if not isinstance(expected, tuple) else True
    assert_close(got, expected, "dx")


def test_assert_close_message_has_name_expected_got_and_inputs():
    with pytest.raises(AssertionError) as info:
        assert_close(-0.25, 0.25, "dd/dx", inputs={"x": 0.0, "y": 1.0})
    text = str(info.value)
    assert text.startswith("dd/dx: the value is wrong.")
    assert "expected: 0.25" in text and "got:      -0.25" in text and "x=0.0, y=1.0" in text
    with pytest.raises(AssertionError) as info:
        assert_close(-0.25, 0.25, "dd/dx", inputs=(0.1 + 0.2, np.array([[1 / 3, 2.0]])),
                     function="f", others=[(-1.0, 1.0)])
    text = str(info.value)
    assert text.startswith("dd/dx: the sign is flipped.")
    # a call to paste into a cell, with every digit
    assert text.endswith("to reproduce: f(0.30000000000000004, np.array([[0.3333333333333333, 2.0]]))")


def test_inputs_are_printed_as_values_to_paste():
    from bpkit.checks import literal
    values = ([(0, 1, 1.1), (1, 2, -0.5)], np.array([[1 / 3, 1e-20], [2.0, -7.25]]),
              np.array([3, 4]), 2, [0.1, 0.2], {"a": 1.5})
    import numpy  # noqa: F401  (the literal refers to np)
    for v in values:
        back = eval(literal(v), {"np": np})
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(back, v)
            assert back.dtype == v.dtype
        else:
            assert back == v
    big = np.arange(15 * 3, dtype=float).reshape(15, 3) / 7
    assert "shape" not in literal(big)
    np.testing.assert_array_equal(eval(literal(big), {"np": np}), big)
    with pytest.raises(NotAnswered, match="dW: there is no answer yet"):
        assert_close(None, E, "dW")
    assert issubclass(NotAnswered, AssertionError)


def test_assert_close_on_tuples():
    expected = (1.0, np.array([1.0, 2.0]), -3.0)
    assert_close((1.0, [1.0, 2.0], -3.0), expected, ("dx", "dw", "dy"))
    with pytest.raises(NotAnswered, match="dx, dw, dy: there is no answer"):
        assert_close(None, expected, ("dx", "dw", "dy"))
    with pytest.raises(AssertionError, match=r"expected 3 values \(dx, dw, dy\), got 2"):
        assert_close((1.0, 2.0), expected, ("dx", "dw", "dy"))
    with pytest.raises(AssertionError, match=r"expected 3 values.*got a single float"):
        assert_close(1.0, expected, ("dx", "dw", "dy"))
    with pytest.raises(AssertionError, match=r"^dy: the value is wrong"):
        assert_close((1.0, [1.0, 2.0], 3.0), expected, ("dx", "dw", "dy"))
    with pytest.raises(AssertionError, match=r"^dy: the sign is flipped"):   # witnessed
        assert_close((1.0, [1.0, 2.0], 3.0), expected, ("dx", "dw", "dy"),
                     others=[((0.0, [1.0, 1.0], 2.0), (0.0, [1.0, 1.0], -2.0))])
    with pytest.raises(AssertionError, match=r"^dw: the results are in the wrong order: dw holds "
                                             r"what dy should be; return \(dx, dw, dy\)"):
        assert_close((1.0, -3.0, [1.0, 2.0]), expected, ("dx", "dw", "dy"))
    # the order guess needs every other case to agree, and a copy of a right result is no swap
    swapped_here_only = ((1.0, [1.0, 1.0], 2.0), (1.0, [1.0, 1.0], -2.0))   # dw is no dy there
    assert "wrong order" not in _message(lambda: assert_close(
        (1.0, -3.0, [1.0, 2.0]), expected, ("dx", "dw", "dy"), others=[swapped_here_only]))
    # dL/dw1 = dL/db1 on every input (the factor x forgotten)
    with pytest.raises(AssertionError, match=r"^dL/dw1: it is the value of dL/db1 \(which is right\), "
                                             r"not its own: a factor or a term that makes the two differ"):
        assert_close((2.0, 2.0, 1.0), (4.0, 2.0, 1.0), ("dL/dw1", "dL/db1", "dL/dw2"),
                     others=[((3.0, 3.0, 1.0), (-6.0, 3.0, 1.0))])
    with pytest.raises(AssertionError, match=r"^dx: it looks like you halved everything"):
        assert_close((0.5, [0.5, 1.0], -1.5), expected, ("dx", "dw", "dy"),
                     mistakes=[("halved dw", (1.0, [0.5, 1.0], -3.0)),
                               ("halved everything", (0.5, [0.5, 1.0], -1.5))])
    with pytest.raises(AssertionError, match=r"^grads\[1\]: it looks like you swapped"):
        assert_close((1.0, [2.0, 1.0], -3.0), expected, "grads",
                     mistakes=[("swapped the entries", (None, [2.0, 1.0], None))])


def _message(run):
    with pytest.raises(AssertionError) as info:
        run()
    return str(info.value)


# ----- call -----------------------------------------------------------------------------------------
def test_call_returns_the_result_and_swallows_warnings_and_stderr(capsys):
    def noisy(x):
        warnings.warn("this is deprecated", DeprecationWarning)
        warnings.warn("careful", RuntimeWarning)
        print("debug output", file=sys.stderr)
        np.log(np.array([0.0]))        # NumPy's divide-by-zero warning
        bp.var(1.0) / bp.var(0.0)      # bpkit's NonFiniteWarning
        return x * 2

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert call(noisy, 21) == 42
    assert caught == []
    assert capsys.readouterr().err == ""


def test_call_turns_not_implemented_into_not_answered():
    def dfdx(x, y):
        # YOUR CODE HERE
        raise NotImplementedError()

    with pytest.raises(NotAnswered, match=r"dfdx is not written yet: replace `raise NotImplementedError\(\)`"):
        call(dfdx, 0.0, 1.0)


def test_call_reports_other_errors_with_function_and_inputs():
    def backward(g, W):
        return W @ g   # shapes do not fit

    with pytest.raises(AssertionError) as info:
        call(backward, np.ones(2), np.ones((3, 4)))
    text = str(info.value)
    assert text.startswith("backward raised a ValueError\n  in line 2 of backward: `return W @ g")
    assert "`W @ g`: (3, 4) @ (2,) do not fit" in text
    assert text.endswith("to reproduce: backward(np.array([1.0, 1.0]), np.array([[1.0, 1.0, 1.0, "
                         "1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]))")
    assert not isinstance(info.value, NotAnswered)


@pytest.mark.parametrize("source,args,phrase", [
    ("def f(W, g):\n    dz = W @ g\n    return dz\n", (np.ones((3, 4)), np.ones(3)),
     "`W @ g`: (3, 4) @ (3,) do not fit (the last size on the left must equal the first on the "
     "right) — did you mean `W.T @ g`?"),
    ("def f(W, g):\n    return W.T @ g\n", (np.ones((3, 4)), np.ones(4)), "did you mean `W @ g`?"),
    ("def f(dl, h):\n    return dl @ h\n", (np.ones(3), np.ones(4)), "did you mean `np.outer(dl, h)`?"),
    ("def f(dl, h):\n    return dl * h\n", (np.ones(3), np.ones(4)),
     "`dl * h`: shapes (3,) and (4,) cannot be combined entry by entry — did you mean the outer "
     "product, `np.outer(dl, h)`?"),
    ("def f(g, z):\n    return np.dot(g, z)\n", (np.ones(3), np.ones(4)), "did you mean `np.outer(g, z)`?"),
    ("def f(W, g, m):\n    return W @ (g * m)\n", (np.ones((3, 4)), np.ones(3), np.ones(3)),
     "did you mean `W.T @ (g * m)`?"),
    ("def f(X, dP):\n    return X @ dP\n", (np.ones((5, 3)), np.ones((5, 2))), "did you mean `X.T @ dP`?"),
    ("def f(edges):\n    S = {9: 1.0}\n    for i, j in edges:\n        S[i] = S[j]\n    return S\n",
     ([(1, 2)],), "`S[j]`: S has no entry for 2 (vertex 2 was never given a value)"),
    ("def f(w, x):\n    return x * 0.5\n", ([1.0], [2.0, 3.0]),
     "x is a Python list: a list does not compute entry by entry"),
    ("def f(w):\n    return w.T\n", ([1.0],), "w is a Python list"),
])
def test_call_translates_the_usual_exceptions(source, args, phrase, tmp_path):
    """The student's own line, both shapes, and the likely fix (also for code from a file or a
    notebook cell: linecache has its lines)."""
    path = tmp_path / "student.py"
    path.write_text("import numpy as np\n" + source)
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    with pytest.raises(AssertionError) as info:
        call(namespace["f"], *args)
    text = str(info.value)
    assert phrase in text, text
    assert "in line" in text and "of f: `" in text


def test_an_error_in_a_helper_names_the_line_that_called_it_and_what_the_helper_was_given():
    """train_epoch of notebook 5 with `out - yb` broadcast to (B, B): the error surfaces in the
    student's linear_backward, which passed its own check. The message says which line of
    train_epoch led there and what linear_backward was given, not only 'did you mean W @ g?'."""
    def linear_backward(W, z, g):
        return W.T @ g, np.outer(g, z)

    def train_epoch(W, X, y):
        G = 2 * (X @ W.T - y) / len(y)     # (B, 1) - (B,): a (B, B) gradient
        return [linear_backward(W, z, g) for z, g in zip(X, G)]

    with pytest.raises(AssertionError) as info:
        call(train_epoch, np.ones((1, 3)), np.ones((3, 3)), np.ones(3))
    text = str(info.value)
    assert "in line 2 of linear_backward: `return W.T @ g, np.outer(g, z)`" in text, text
    assert "called from line 3 of train_epoch: `return [linear_backward(W, z, g) for z, g in zip(X, G)]`" in text, text
    assert ("linear_backward was given W of shape (1, 3), z of shape (3,), g of shape (3,): if "
            "linear_backward passes its own check, look at what train_epoch gives it") in text, text
    # an error in the checked function itself says nothing of the kind
    with pytest.raises(AssertionError) as info:
        call(linear_backward, np.ones((1, 3)), np.ones(3), np.ones(3))
    assert "called from" not in str(info.value) and "was given" not in str(info.value)


def test_call_lets_assertion_errors_through_and_rejects_non_functions():
    def checks(x):
        if x <= 0:
            raise AssertionError("x must be positive")

    with pytest.raises(AssertionError, match="^x must be positive$"):
        call(checks, -1)
    with pytest.raises(AssertionError, match="should be a function, but it is a int"):
        call(3, 1)


def test_call_works_on_copies_of_the_inputs():
    def mutate(a):
        a[0] = 99.0
        return a.sum()

    a = np.array([1.0, 2.0])
    assert call(mutate, a) == 101.0
    np.testing.assert_array_equal(a, [1.0, 2.0])


def test_call_within_stops_an_exponential_walk_and_lets_a_dynamic_program_finish():
    chain = [(i, i + 1, 1.0) for i in range(40) for _ in (0, 1)]   # 2^40 paths from 0 to 40

    def dp(edges, source, target):
        S = {target: 1.0}
        for i, j, z in sorted(edges, key=lambda e: -e[1]):
            S[i] = S.get(i, 0.0) + z * S.get(j, 0.0)
        return S.get(source, 0.0)

    def every_path(edges, source, target):
        def total(v):
            try:                                   # the student's own except does not swallow it
                return 1.0 if v == target else sum(z * total(j) for i, j, z in edges if i == v)
            except Exception:
                return 0.0
        return total(source)

    assert call_within({"seconds": 0.5}, "is too slow", dp, chain, 0, 40) == 2.0 ** 40
    assert call_within({"seconds": 0.5}, "is too slow", every_path, chain[:8], 0, 4) == 16.0   # 16 paths: quick
    with pytest.raises(AssertionError, match=r"^every_path is too slow$"):
        call_within({"seconds": 0.5}, "is too slow", every_path, chain, 0, 40)
    import signal
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)          # the timer is off again
    assert signal.getsignal(signal.SIGPROF) in (signal.SIG_DFL, None)  # and its handler gone


def test_a_method_case_fails_the_wrong_method_and_names_it_everywhere(tmp_path):
    """dp_derivative written as the path sum of exercise 2 gives the right numbers on the small
    graphs; the method case (2^40 paths) fails it in the check cell and the hidden test."""
    from bpkit_grade import visible
    from bpkit_grade.exercises import nb02

    def dp_derivative(edges, source, target):
        return nb02.path_sum_derivative(edges, source, target)

    (tmp_path / "visible-checks.json").write_text(visible.render("02-paths-vs-dynamic-programming"))
    for run in (lambda: check(dp_derivative, path=tmp_path / "visible-checks.json"),
                lambda: check_exercise("02-paths-vs-dynamic-programming", dp_derivative, hidden=True)):
        with pytest.raises(AssertionError, match=r"2\^40 = 1,099,511,627,776 paths.*S\(j\) is reused"):
            run()
    check_exercise("02-paths-vs-dynamic-programming", nb02.dp_derivative, hidden=True)  # the method passes


# ----- check_exercise ---------------------------------------------------------------------------------
@pytest.fixture
def toy_registry(monkeypatch):
    ex = Exercise(grade_id="test_double", points=1, function="double",
                  make_inputs=lambda rng: (rng.normal(size=3),), reference=lambda x: 2 * x,
                  description="double a vector",
                  mistakes=lambda x: [("returned the input unchanged", x)])
    monkeypatch.setattr(registry, "for_assignment", lambda name: [ex])
    return ex


def test_check_exercise_passes_a_correct_answer(toy_registry):
    def double(x):
        warnings.warn("noise")   # a correct answer passes even if it warns
        return x + x
    check_exercise("toy", double)
    check_exercise("toy", double, hidden=True)


def test_check_exercise_diagnoses_wrong_answers(toy_registry):
    def double(x):
        return x

    with pytest.raises(AssertionError, match="it looks like you returned the input unchanged"):
        check_exercise("toy", double)

    def double(x):  # noqa: F811
        return -2 * x

    with pytest.raises(AssertionError, match=r"double: the sign is flipped.*\n.*\n.*\n  to reproduce: "
                                             r"double\(np.array\(\["):
        check_exercise("toy", double)

    def double(x):  # noqa: F811
        raise NotImplementedError()

    with pytest.raises(NotAnswered, match="not written yet"):
        check_exercise("toy", double)


def test_check_exercise_hidden_seeds_catch_a_hard_coded_answer(toy_registry):
    args, expected = toy_registry.expected(np.random.default_rng(0))

    def double(x):
        return expected.copy()   # the answer for seed 0, typed in

    check_exercise("toy", double, seeds=(0,))
    with pytest.raises(AssertionError):
        check_exercise("toy", double, hidden=True)


def test_check_exercise_needs_the_given_function_name(toy_registry):
    def twice(x):
        return 2 * x

    with pytest.raises(AssertionError, match="expects a function called 'twice'"):
        check_exercise("toy", twice)


def test_unknown_assignment():
    with pytest.raises(KeyError, match="unknown assignment 'nb99'"):
        for_assignment("nb99")


@pytest.mark.parametrize("assignment", list(MODULES))
def test_every_registered_reference_passes_its_own_check(assignment, monkeypatch):
    """(References are the instructor's code: they may use the engine functions an exercise
    switches off for students, so the switch is left out here.)"""
    monkeypatch.setattr("bpkit_grade.exercises.switched_off", lambda names: contextlib.nullcontext())
    exercises = for_assignment(assignment)
    assert len({ex.grade_id for ex in exercises}) == len(exercises)
    for ex in exercises:
        assert ex.points > 0
        reference = ex.reference

        def answer(*args, reference=reference):
            return reference(*args)
        answer.__name__ = ex.function
        check_exercise(assignment, answer, seeds=(0, 1))


# ----- check: the visible cases from visible-checks.json, no reference in the student's reach ------
@pytest.fixture
def toy_checks(toy_registry, monkeypatch, tmp_path):
    """visible-checks.json of the toy registry, written as `./course generate` writes it."""
    from bpkit_grade import visible

    monkeypatch.setattr(visible, "for_assignment", lambda name: [toy_registry])
    path = tmp_path / "visible-checks.json"
    path.write_text(visible.render("toy"))
    monkeypatch.chdir(tmp_path)
    return path


def test_check_passes_a_correct_answer_on_every_visible_case(toy_checks):
    def double(x):
        return x + x
    assert check(double) == 3   # the seeds 0, 1, 2


def test_check_names_a_typical_mistake_from_the_data_alone(toy_checks):
    def double(x):
        return x
    with pytest.raises(AssertionError, match="it looks like you returned the input unchanged"):
        check(double)

    def double(x):  # noqa: F811
        return 3 * x
    with pytest.raises(AssertionError, match=r"1.5 times the right value.*\n  expected:"):
        check(double)   # three cases agree on the factor

    def double(x):  # noqa: F811
        return np.array([0.25146, -0.26421, 1.280845])   # seed 0's answer, typed in
    with pytest.raises(AssertionError, match=r"same answer for different inputs"):
        check(double)


def test_a_typical_mistake_that_another_case_contradicts_is_not_named():
    """square_plus_x_size of notebook 1 answered (2n + 2, 4n): at n = 1 that is also what "a new
    vertex for x in every step" gives, (3n + 1, 4n). The case n = 2 tells them apart, so the
    feedback must not name that mistake; an answer that is the mistake on every case is named."""
    from bpkit.checks import check_cases

    new_x = "made a new vertex for x in every step"
    cases = [((n,), (2 * n + 1, 4 * n), [(new_x, (3 * n + 1, 4 * n))]) for n in (1, 2, 3)]

    def square_plus_x_size(n):
        return 2 * n + 2, 4 * n
    with pytest.raises(AssertionError) as info:
        check_cases(square_plus_x_size, cases, ["vertices", "edges"])
    assert new_x not in str(info.value), str(info.value)

    def square_plus_x_size(n):  # noqa: F811
        return 3 * n + 1, 4 * n
    with pytest.raises(AssertionError, match=new_x):
        check_cases(square_plus_x_size, cases, ["vertices", "edges"])
    # a mistake made in two ways (one description, two values): either way on each case names it
    two_ways = [(i, e, m + [(new_x, (9, 9))]) for i, e, m in cases]
    with pytest.raises(AssertionError, match=new_x):
        check_cases(square_plus_x_size, two_ways, ["vertices", "edges"])


def test_check_file_holds_numbers_only(toy_checks):
    text = toy_checks.read_text()
    assert "lambda" not in text and "def " not in text and "2 * x" not in text
    data = json.loads(text)
    case = data["exercises"]["double"]["cases"][0]
    np.testing.assert_allclose(from_plain(case["expected"]), 2 * from_plain(case["inputs"])[0])


def test_check_says_what_is_missing(toy_checks):
    def twice(x):
        return 2 * x
    with pytest.raises(AssertionError, match="expects a function called 'twice'"):
        check(twice)
    toy_checks.unlink()
    with pytest.raises(AssertionError, match="visible-checks.json is missing.*./course reset"):
        check(twice)
    with pytest.raises(AssertionError, match="should be a function"):
        check(None)


# ----- partial credit: each of several results is worth its share (bpkit.credit) ---------------
@pytest.fixture
def three_results(monkeypatch, tmp_path):
    """A registry exercise returning (x, 2x, 3x) for 3 points, and its visible-checks.json."""
    from bpkit_grade import visible

    ex = Exercise(grade_id="test_triple", points=3, function="triple",
                  make_inputs=lambda rng: (rng.normal(size=2),), reference=lambda x: (x, 2 * x, 3 * x),
                  result_names=("a", "b", "c"), partial=True,
                  mistakes=lambda x: [("forgot the 3 of c", (x, 2 * x, x))])
    monkeypatch.setattr(registry, "for_assignment", lambda name: [ex])
    monkeypatch.setattr(visible, "for_assignment", lambda name: [ex])
    (tmp_path / "visible-checks.json").write_text(visible.render("toy"))
    monkeypatch.chdir(tmp_path)
    return ex


def test_each_right_result_scores_its_share_in_the_kernel(three_results, capsys):
    from bpkit.credit import parts

    def triple(x):
        return x, 2 * x, x
    visible = parts(triple)
    assert (float(visible), visible.right, repr(visible)) == (2.0, (True, True, False), "2.0")
    out = capsys.readouterr().out
    assert "triple: a, b are right; c is wrong: 2 of 3 results, 2 of 3 points" in out
    assert "c: it looks like you forgot the 3 of c" in out
    hidden = check_exercise("toy", triple, hidden=True, credit=visible)
    assert float(hidden) == 2.0 and capsys.readouterr().out == ""   # said once, by the visible check

    def triple(x):  # noqa: F811 -- b right on the visible cases only: the hidden check takes it away
        return x, (2 * x if np.all(np.abs(x) < 10) else x), x
    assert float(check_exercise("toy", triple, seeds=(0,), credit=Credit(3, [True, True, False], "abc"))) == 2.0
    big = lambda rng: (100 + rng.normal(size=2),)  # noqa: E731
    object.__setattr__(three_results, "make_inputs", big)
    assert float(check_exercise("toy", triple, seeds=(0,), credit=visible)) == 1.0
    assert "a is right; b, c are wrong: 1 of 3 results, 1 of 3 points" in capsys.readouterr().out


def test_no_result_right_fails_and_all_right_is_full_marks(three_results, capsys):
    from bpkit.credit import parts

    def triple(x):
        return -x, -x, -x
    with pytest.raises(AssertionError, match="a: "):
        parts(triple)
    with pytest.raises(AssertionError):
        check_exercise("toy", triple, hidden=True)

    def triple(x):  # noqa: F811
        return x, x + x, 3 * x
    assert float(parts(triple)) == 3.0 and "all visible tests pass" in capsys.readouterr().out
    assert float(check_exercise("toy", triple, hidden=True, credit=None)) == 3.0

    def triple(x):  # noqa: F811
        raise NotImplementedError()
    with pytest.raises(NotAnswered):
        parts(triple)
