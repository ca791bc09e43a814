"""Build, check, import: every notebook's page models run, and agree with course_lib, on tiny inputs.

Cells tagged ``page-model`` write a model on the page; cells tagged ``page-check`` compare it
with course_lib. Both are self-contained (their own imports and small random inputs), so this
test executes them alone, in notebook order, without data or training.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGE_TAGS = ("page-model", "page-check")
# The chapters that introduce a model must build it on the page.
INTRODUCING = {"01", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"}


def _tagged(path: Path) -> list[tuple[str, str]]:
    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        tags = [t for t in cell.metadata.get("tags", []) if t in PAGE_TAGS]
        if tags:
            assert cell.cell_type == "code", f"{path.name}: a {tags[0]} cell must be code"
            out.append((tags[0], cell.source))
    return out


WITH_PAGE_MODELS = [p for p in NOTEBOOKS if _tagged(p)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_page_models_are_checked_after_they_are_built(path):
    tagged = _tagged(path)
    if path.stem[:2] in INTRODUCING:
        assert any(t == "page-model" for t, _ in tagged), f"{path.name} builds no model on the page"
    if not tagged:
        return
    kinds = [t for t, _ in tagged]
    assert kinds[-1] == "page-check", f"{path.name}: the last page-model cell has no later page-check"
    for kind, source in tagged:
        if kind == "page-check":
            assert "assert" in source, f"{path.name}: a page-check cell must assert something"


@pytest.mark.parametrize("path", WITH_PAGE_MODELS, ids=[p.stem for p in WITH_PAGE_MODELS])
def test_page_models_run_and_agree_with_course_lib(path):
    import keras

    keras.backend.clear_session()
    namespace: dict = {"__name__": f"page_{path.stem}"}
    for i, (kind, source) in enumerate(_tagged(path)):
        try:
            exec(compile(source, f"{path.name}[{kind} {i}]", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{path.name}: {kind} cell {i} failed on its own: {exc!r}") from exc
