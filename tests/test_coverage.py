"""docs/coverage.md: every row names a notebook and a code cell that exists.

A row is ``| source | example or concept | notebook | cell |`` with the notebook as two digits
(``02``) and the cell as a backquoted cell id of ``solutions/<notebook>/<notebook>.ipynb``. The
cell must be a code cell (the row's content is reproduced by running code). A row whose cell
is ``pending`` fails: notebooks 05-08 are merged, so every row names its cell (content that no
notebook computes goes to the "Not reproduced" list, with the reason).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COVERAGE = ROOT / "docs" / "coverage.md"
ROW = re.compile(r"^\|(?P<cells>.*)\|\s*$")


def rows(text):
    """[(line number, source, item, notebook, cell)] of the tables' data rows."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        m = ROW.match(line.strip())
        if not m:
            continue
        cells = [c.strip() for c in m.group("cells").split("|")]
        if cells[0] in ("source", "") or set("".join(cells)) <= set("-: "):
            continue                                   # header or separator
        found.append((number, *cells))
    return found


def notebook_cells(root, number):
    """{cell id: cell type} of notebook NN's solution, or None when there is no such notebook."""
    paths = [p for p in root.glob(f"solutions/{number}-*/*.ipynb") if p.stem == p.parent.name]
    if len(paths) != 1:
        return None
    return {c.get("id"): c["cell_type"] for c in json.loads(paths[0].read_text())["cells"]}


def problems(text, root=ROOT):
    """(what is wrong with each row, how many rows are pending)."""
    bad, pending = [], 0
    table = rows(text)
    if not table:
        return ["no table rows found"], 0
    for number, *cells in table:
        if len(cells) != 4:
            bad.append(f"line {number}: {len(cells)} columns, expected 4 (source, item, notebook, cell)")
            continue
        source, item, notebook, cell = cells
        if not re.fullmatch(r"0[1-9]", notebook):
            bad.append(f"line {number}: notebook {notebook!r} is not two digits like 02")
            continue
        if cell == "pending":
            bad.append(f"line {number}: {item!r} is pending in notebook {notebook}: name the code "
                       "cell that reproduces it, or move it to the \"Not reproduced\" list")
            pending += 1
            continue
        ids = notebook_cells(root, notebook)
        cell_id = cell.strip("`")
        if ids is None:
            bad.append(f"line {number}: no notebook solutions/{notebook}-*/ for {item!r}")
        elif cell_id not in ids:
            bad.append(f"line {number}: notebook {notebook} has no cell with id {cell_id!r} ({item!r})")
        elif ids[cell_id] != "code":
            bad.append(f"line {number}: cell {cell_id!r} of notebook {notebook} is {ids[cell_id]}, "
                       "not code: name the cell that computes it")
    return bad, pending


def test_every_row_names_a_code_cell_that_exists():
    bad, pending = problems(COVERAGE.read_text())
    assert not bad, "docs/coverage.md:\n" + "\n".join(bad)
    total = len(rows(COVERAGE.read_text()))
    print(f"docs/coverage.md: {total} rows, every one with a code cell")


def test_a_wrong_reference_is_found():
    table = ("| source | example or concept | notebook | cell |\n|---|---|---|---|\n"
             "| Aggarwal | the product graph | 02 | `cell-12` |\n"
             "| Aggarwal | a cell that is not there | 02 | `no-such-cell` |\n"
             "| Aggarwal | a markdown cell | 02 | `cell-00` |\n"
             "| Aggarwal | pending in an old notebook | 03 | pending |\n"
             "| Aggarwal | pending in a new notebook | 07 | pending |\n"
             "| Aggarwal | no such notebook | 09 | `cell-01` |\n")
    bad, pending = problems(table)
    assert pending == 2
    assert len(bad) == 5, bad
    assert any("no-such-cell" in b for b in bad) and any("markdown" in b for b in bad)
    assert any("pending in notebook 03" in b for b in bad) and any("09" in b for b in bad)
    assert any("pending in notebook 07" in b for b in bad)
