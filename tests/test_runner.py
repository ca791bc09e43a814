"""The notebook runner's pure parts: stripping, publishing, figure export, discovery."""

import base64

import nbformat
import pytest

from course_lib import runner

PNG_1x1 = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def _executed_notebook(injected=False):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"duration": 1.0}
    params = nbformat.v4.new_code_cell("PROFILE = None", execution_count=1)
    params.metadata["tags"] = ["parameters"]
    params.metadata["papermill"] = {"duration": 0.1}
    params.metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    plot = nbformat.v4.new_code_cell("plot()", execution_count=2)
    plot.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG_1x1})]
    cells = [nbformat.v4.new_markdown_cell("# T"), params, plot]
    if injected:
        inj = nbformat.v4.new_code_cell('PROFILE = "smoke"', execution_count=2)
        inj.metadata["tags"] = ["injected-parameters"]
        cells.insert(2, inj)
    nb.cells = cells
    return nb


def test_strip_volatile_removes_run_metadata_but_keeps_outputs():
    nb = runner.strip_volatile(_executed_notebook())
    assert "papermill" not in nb.metadata
    assert all("papermill" not in c.metadata and "execution" not in c.metadata for c in nb.cells)
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    assert nb.cells[2].outputs and nb.cells[2].execution_count == 2


def test_publish_writes_a_clean_copy(tmp_path):
    src = tmp_path / "run.ipynb"
    nbformat.write(_executed_notebook(), src)
    dest = runner.publish(src, tmp_path / "00_x.ipynb")
    nb = nbformat.read(dest, as_version=4)
    assert "papermill" not in nb.metadata
    assert nb.cells[2].outputs[0]["data"]["image/png"] == PNG_1x1


def test_publish_refuses_a_run_with_injected_parameters(tmp_path):
    src = tmp_path / "run.ipynb"
    nbformat.write(_executed_notebook(injected=True), src)
    with pytest.raises(ValueError, match="injected parameters"):
        runner.publish(src, tmp_path / "out.ipynb")


def test_export_figures_writes_png_files(tmp_path):
    src = tmp_path / "07_demo.ipynb"
    nbformat.write(_executed_notebook(), src)
    files = runner.export_figures(src, tmp_path / "figs")
    assert len(files) == 1
    assert files[0].read_bytes().startswith(b"\x89PNG")
    assert files[0].name.startswith("07_demo_cell002")


def test_list_notebooks_in_course_order_and_filter():
    names = [p.name for p in runner.list_notebooks()]
    assert names == sorted(names) and names[0].startswith("00_")
    assert [p.name[:2] for p in runner.list_notebooks(["01"])] == ["01"]
    with pytest.raises(ValueError, match="No notebook matches"):
        runner.list_notebooks(["99"])
