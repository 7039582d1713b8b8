"""pyproject's package list matches the source tree, so `pip install .` on a fresh clone works
(the suite itself runs from the checkout and would not notice)."""

import pathlib

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_listed_package_exists_and_every_package_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapped = config.get("package-dir", {})
    for name in listed:
        folder = ROOT / mapped.get(name, name.replace(".", "/"))
        assert (folder / "__init__.py").is_file(), f"pyproject lists {name}; {folder} is none"
    found = {str(p.parent.relative_to(ROOT)).replace("/", ".")
             for top in ("tinygrad_rnn", "viz") for p in (ROOT / top).rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject: {sorted(found - listed)}"
