"""The README a student reads first: its set-up commands, its Binder badge, its links."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_set_up_starts_with_the_two_commands():
    section = README.split("## Set up", 1)[1]
    first_block = re.search(r"```bash\n(.*?)```", section, re.S)[1]
    assert first_block == ("./course start    # opens the course in JupyterLab\n"
                           "./course test     # runs every test\n"), first_block
    assert section.lstrip().startswith("```bash"), "the two commands must come first in Set up"


def test_binder_badge_is_the_student_editions_and_the_readme_says_where_it_comes_from():
    """The instructor README has no placeholder badge (Binder would build this repository, with
    its solutions); it says that `./course publish --repo` writes the badge into the student
    edition's README. The badge publish writes opens the first notebook (tests/test_edition.py
    checks it in a published edition)."""
    assert "mybinder.org/v2/gh/" not in README and "OWNER/bpkit" not in README, \
        "README.md must not carry a Binder badge of its own: the student edition's README has it"
    intro = README.split("## Set up", 1)[0]
    assert "./course publish DIR --repo OWNER/NAME" in intro, "the README's top must say where the badge comes from"
    from bpkit_grade.publish import badge_url
    url = urlparse(badge_url("some-org/bpkit-students", "main",
                             "notebooks/01-computational-graphs/01-computational-graphs.ipynb"))
    assert url.path == "/v2/gh/some-org/bpkit-students/main", url
    target = parse_qs(url.query).get("urlpath", [""])[0]
    assert target.startswith("lab/tree/"), f"the badge should open JupyterLab on a notebook: {target!r}"
    path = ROOT / target.removeprefix("lab/tree/")
    assert path.name == "01-computational-graphs.ipynb" and path.exists(), f"{path} is not the first notebook"


def test_relative_links_and_images_exist():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert local, "no relative links found; did the README lose its notebook list?"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"
