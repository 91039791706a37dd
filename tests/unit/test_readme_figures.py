"""scripts/update_readme_figures.py: the README table comes from bench JSON, never by hand."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT

README = """# x

## Measured here

<!-- bench:start -->
| what | figure |
| --- | --- |
| typed by hand | 1.04 |
<!-- bench:end -->

## Next
"""


def load_script(name: str) -> ModuleType:
    path = REPO_ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def figures() -> ModuleType:
    return load_script("update_readme_figures")


def write(bench: Path, name: str, rows: object) -> None:
    bench.mkdir(exist_ok=True)
    (bench / f"{name}.json").write_text(json.dumps(rows))


def test_the_table_is_rebuilt_from_every_bench_file(figures: ModuleType, tmp_path: Path) -> None:
    """GIVEN two bench files and a hand-typed table THEN only the files' rows remain, in order."""
    bench, readme = tmp_path / "bench", tmp_path / "README.md"
    readme.write_text(README)
    write(bench, "bench_listing", [{"what": "page | feed", "figure": "1 call (ratio 1.00)"}])
    write(bench, "bench_coldstart", [{"what": "floor", "figure": "200 ms (1.00x)"}])
    args = ["--bench-dir", str(bench), "--readme", str(readme)]
    assert figures.main(args) == 0
    text = readme.read_text()
    assert "typed by hand" not in text
    table = text.split("<!-- bench:start -->\n")[1].split("\n<!-- bench:end -->")[0]
    assert table.splitlines()[2:] == [
        "| what | figure |",
        "| --- | --- |",
        "| floor | 200 ms (1.00x) |",
        "| page \\| feed | 1 call (ratio 1.00) |",
    ]
    assert text.endswith("<!-- bench:end -->\n\n## Next\n")
    assert figures.main(args) == 0
    assert readme.read_text() == text  # idempotent


def test_bad_inputs_change_nothing(figures: ModuleType, tmp_path: Path) -> None:
    bench, readme = tmp_path / "bench", tmp_path / "README.md"
    readme.write_text("no markers here\n")
    write(bench, "bench_server", [{"what": "a", "figure": "b"}])
    assert figures.main(["--bench-dir", str(bench), "--readme", str(readme)]) == 1
    readme.write_text(README)
    write(bench, "bench_server", [{"what": "a"}])
    assert figures.main(["--bench-dir", str(bench), "--readme", str(readme)]) == 1
    assert figures.main(["--bench-dir", str(tmp_path / "none"), "--readme", str(readme)]) == 1
    assert readme.read_text() == README


def test_the_committed_readme_has_the_markers_and_make_bench_regenerates_it() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert readme.count("<!-- bench:start -->") == readme.count("<!-- bench:end -->") == 1
    makefile = (REPO_ROOT / "Makefile").read_text()
    bench_target = makefile.split("\nbench:")[1].split("\n\n")[0]
    assert "scripts/update_readme_figures.py" in bench_target
    listed = makefile.split("BENCH_SCRIPTS :=")[1].split("\n\n")[0].replace("\\", " ").split()
    scripts = {path.stem for path in (REPO_ROOT / "scripts").glob("bench_*.py")} - {"bench_rows"}
    assert scripts <= set(listed), "every bench script runs in make bench"


def test_bench_rows_are_written_where_the_readme_script_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PICGRAPH_BENCH_DIR", str(tmp_path))
    rows = load_script("bench_rows")
    path = rows.write_rows("bench_example", [{"what": "w", "figure": "f (ratio 1.0)"}])
    assert json.loads(path.read_text()) == [{"what": "w", "figure": "f (ratio 1.0)"}]
    with pytest.raises(ValueError, match="exactly"):
        rows.write_rows("bench_example", [{"what": "w"}])


DATA_MODEL = """# Data model

### Measured

<!-- scale:start -->
```
typed by hand
```
<!-- scale:end -->

Reading it: ...
"""


def test_the_simulations_printout_in_the_data_model_comes_from_the_same_run(
    figures: ModuleType, tmp_path: Path
) -> None:
    """GIVEN bench_scale's captured output THEN data-model.md's block is exactly that output."""
    bench, readme, data_model = tmp_path / "bench", tmp_path / "README.md", tmp_path / "dm.md"
    readme.write_text(README)
    data_model.write_text(DATA_MODEL)
    write(bench, "bench_scale", [{"what": "hottest", "figure": "348 WCU/s"}])
    (bench / "bench_scale.txt").write_text("peak: 10,000 uploads/s\nGSI2 | FEED#2026-11#7  310\n")
    args = ["--bench-dir", str(bench), "--readme", str(readme), "--data-model", str(data_model)]
    assert figures.main(args) == 0
    text = data_model.read_text()
    assert "typed by hand" not in text
    block = text.split("<!-- scale:start -->\n")[1].split("\n<!-- scale:end -->")[0]
    assert block == "```\npeak: 10,000 uploads/s\nGSI2 | FEED#2026-11#7  310\n```"
    assert text.endswith("Reading it: ...\n")


def test_a_data_model_without_its_markers_is_refused(figures: ModuleType, tmp_path: Path) -> None:
    """GIVEN a captured printout but no markers in the doc THEN nothing is rewritten, exit 1."""
    bench, readme, data_model = tmp_path / "bench", tmp_path / "README.md", tmp_path / "dm.md"
    readme.write_text(README)
    data_model.write_text("# Data model\n")
    write(bench, "bench_scale", [{"what": "hottest", "figure": "348 WCU/s"}])
    (bench / "bench_scale.txt").write_text("output\n")
    args = ["--bench-dir", str(bench), "--readme", str(readme), "--data-model", str(data_model)]
    assert figures.main(args) == 1
    assert readme.read_text() == README
    assert data_model.read_text() == "# Data model\n"
