"""Our text and code are our own: no long run of the source documents' words.

The sources (DESIGN.md: "facts and numbers carry over, their sentences and code do not") live in
``shared/seeds/`` beside the repository (``../shared/seeds`` from the repo root; CI checks the
course out there too). ``BPKIT_SEEDS`` points elsewhere. Without them the test fails and says
where it looked: a skipped originality check would pass silently.

A *run* is ``RUN`` consecutive words (lower case, letters and digits) that occur in the same
order in a source. Formulas are left out on both sides ($...$ and $$...$$ in the notebooks,
the same in the seeds), because formulas and numbers carry over by design; code is compared as
words too (``dq, dy = 1*dr, -1*dr`` reads "dq dy 1 dr 1 dr"), so a statement-by-statement copy
of the sources' code is found as well as a copied sentence.

    .venv/bin/python -m pytest tests/test_originality.py -q
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = 12
#: what we compare: every notebook source, the engine, the grader, the READMEs and docs
OURS = ["solutions/*/*.ipynb", "bpkit/*.py", "grader/bpkit_grade/**/*.py", "README.md", "docs/*.md",
        "grader/bpkit_grade/student_README.md"]
#: runs that are not prose or code of the sources: names and titles we cite
ALLOWED = [
    "computational graphs and backpropagation",           # the titles of two sources,
    "backpropagation and computational graphs",           # quoted in the citations
    "linear algebra and optimization for machine learning a textbook",
    "optimization in computational graphs",
]
MATH = re.compile(r"\$\$[\s\S]*?\$\$|\$[^$\n]*\$")
WORD = re.compile(r"[a-z0-9]+")


def seeds_dir():
    where = os.environ.get("BPKIT_SEEDS")
    return Path(where) if where else ROOT.parent / "shared" / "seeds"


def words(text):
    return WORD.findall(MATH.sub(" ", text).lower())


def runs(text, n=RUN):
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def source_runs(folder, n=RUN):
    found = {}
    for path in sorted(folder.glob("*.txt")):
        for run in runs(path.read_text(errors="replace"), n):
            found.setdefault(run, path.name)
    return found


def allowed(run):
    joined = " ".join(run)
    return any(a in joined or joined in a for a in ALLOWED)


def our_texts(root=ROOT, patterns=OURS):
    """{relative path (cell id for notebooks): text}."""
    texts = {}
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            rel = path.relative_to(root).as_posix()
            if path.suffix == ".ipynb":
                for cell in json.loads(path.read_text())["cells"]:
                    texts[f"{rel}#{cell.get('id')}"] = "".join(cell["source"])
            else:
                texts[rel] = path.read_text()
    return texts


def copies(texts, sources, n=RUN):
    """{where: [the first copied run, as words]} for every text holding a run of a source;
    overlapping runs of one place are reported once, as their longest stretch."""
    found = {}
    for where, text in texts.items():
        w = words(text)
        i, stretches = 0, []
        while i <= len(w) - n:
            run = tuple(w[i:i + n])
            if run in sources and not allowed(run):
                j = i + 1
                while j <= len(w) - n and tuple(w[j:j + n]) in sources:
                    j += 1
                stretches.append(f"{' '.join(w[i:j + n - 1])}  [{sources[run]}]")
                i = j + n - 1
            else:
                i += 1
        if stretches:
            found[where] = stretches
    return found


@pytest.fixture(scope="module")
def sources():
    folder = seeds_dir()
    if not folder.is_dir() or not list(folder.glob("*.txt")):
        pytest.fail(f"the source documents are missing: no seeds/*.txt in {folder}. The course "
                    "repository expects shared/seeds/ beside it (../shared/seeds), or set "
                    "BPKIT_SEEDS to the folder that holds them.")
    return source_runs(folder)


def test_no_long_runs_of_the_sources_words(sources):
    found = copies(our_texts(), sources)
    report = "\n".join(f"{where}:\n    " + "\n    ".join(s) for where, s in sorted(found.items()))
    assert not found, (f"{len(found)} places repeat {RUN} or more consecutive words of the "
                       f"sources (write them in your own words and code):\n{report}")


def test_the_check_finds_a_planted_copy(sources, tmp_path):
    """A notebook cell holding one sentence of the chapter and the lecture's backward code is
    found; the same facts in our own words are not."""
    seed = (seeds_dir() / "002_6f664e97a7653a5e.txt").read_text()
    sentence = re.search(r"For a network with 100 nodes[^.]*\.", seed).group(0)
    lecture = (seeds_dir() / "001_ec0e4385b22a22f0.txt").read_text()
    code = re.search(r"dt = 1\s+ds, dz = 1\*dt, 1\*dt[\s\S]*?dx = 3 \* dp", lecture).group(0)
    ours = "Three fully connected layers of width 100: every path picks one vertex per layer."
    nb = {"cells": [{"cell_type": "markdown", "id": "planted", "metadata": {},
                     "source": [sentence]},
                    {"cell_type": "code", "id": "planted-code", "metadata": {}, "source": [code]},
                    {"cell_type": "markdown", "id": "own", "metadata": {}, "source": [ours]}]}
    (tmp_path / "solutions" / "x").mkdir(parents=True)
    (tmp_path / "solutions" / "x" / "x.ipynb").write_text(json.dumps(nb))
    found = copies(our_texts(tmp_path, ["solutions/*/*.ipynb"]), sources)
    assert set(found) == {"solutions/x/x.ipynb#planted", "solutions/x/x.ipynb#planted-code"}, found
    assert "100 nodes in each layer" in found["solutions/x/x.ipynb#planted"][0]


def test_formulas_do_not_count():
    assert words(r"We have $S(i) = \sum_j z(i, j) S(j)$ and $$x^{32}$$ here") == ["we", "have",
                                                                                "and", "here"]
