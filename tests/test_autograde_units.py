"""The pieces of bpkit-grade that need no kernel: the JSON codec, verdicts, failure reasons, CSV."""
import csv

import numpy as np

from bpkit_grade.autograde import _last_error, _verdict, decode, encode, write_csv
from bpkit_grade.exercises import Exercise

EX = Exercise("test_f", 2, "f", lambda rng: (rng.normal(size=3),), lambda x: x)


def test_results_cross_the_kernel_boundary_as_plain_json():
    import json
    value = (np.arange(6.0).reshape(2, 3), np.float64(1.5), 3, [True, None], {"k": np.int64(2)})
    back = decode(json.loads(json.dumps(encode(value))))
    assert np.array_equal(back[0], value[0]) and back[0].dtype == np.float64
    assert back[1:] == [1.5, 3, [True, None], {"k": 2}]


def test_objects_that_are_not_numbers_are_refused_with_their_type():
    try:
        encode(object())
    except TypeError as e:
        assert "object" in str(e)
    else:
        raise AssertionError("encode(object()) should raise TypeError")


def test_the_recheck_wins_and_disagreement_is_flagged():
    assert _verdict(EX, True, "", 2.0) == {"score": 2.0, "max": 2.0, "flag": "", "note": "", "in_kernel": 2.0}
    fooled = _verdict(EX, False, "f(...) is wrong", 2.0)
    assert (fooled["score"], fooled["flag"]) == (0.0, "tampering") and "in-kernel test gave 2/2" in fooled["note"]
    assert _verdict(EX, True, "", 0.0)["flag"] == "mismatch"
    assert _verdict(EX, False, "f(...) raised", None) == {"score": 0.0, "max": 2.0, "flag": "",
                                                          "note": "f(...) raised", "in_kernel": None}


def test_nbgrader_failures_are_named_by_their_exception():
    log = "[AutogradeApp | ERROR] Traceback (most recent call last):\n    raise X\n    KeyError: 'grade_id'\n"
    assert _last_error({"log": log, "error": ""}) == "KeyError: 'grade_id'"
    assert _last_error({"log": "", "error": ""}) == "see its log"


def test_the_csv_has_a_row_per_submission_and_keeps_earlier_rows(tmp_path):
    s = {"points": {"test_f": 2.0, "test_g": 3.0}}
    path = str(tmp_path / "grades" / "a.csv")
    ok = {"status": "ok", "reasons": [], "seconds": 1.0,
          "exercises": {"test_f": {"score": 2.0, "flag": ""}, "test_g": {"score": 3.0, "flag": ""}}}
    bad = {"status": "failed", "reasons": ["a.ipynb could not be re-checked:\n  NotJSONError"], "seconds": 0.1,
           "exercises": {"test_f": {"score": 0.0, "flag": ""}, "test_g": {"score": 0.0, "flag": ""}}}
    write_csv(path, s, {"ann": ok})
    write_csv(path, s, {"bob": bad})
    rows = {r["student"]: r for r in csv.DictReader(open(path))}
    assert rows["ann"]["score"] == "5" and rows["ann"]["status"] == "ok"
    assert rows["bob"]["status"] == "failed" and rows["bob"]["reason"] == "a.ipynb could not be re-checked: / NotJSONError"
