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


# --------------------------------------------------------------------------- progress and failures

def test_cell_progress_counts_and_estimates_in_a_log():
    import io

    from course_lib.progress import CellProgress

    now = [0.0]
    out = io.StringIO()
    progress = CellProgress("05_vae", 3, estimate=100.0, stream=out, every=30.0, clock=lambda: now[0])
    now[0] = 10.0
    progress(cell=None, cell_index=0)
    now[0] = 20.0
    progress()  # within 30 s of the last line: nothing printed
    now[0] = 130.0
    progress()  # the last cell is always printed
    lines = out.getvalue().splitlines()
    assert lines == ["  05_vae  1/3 cells  10 s elapsed, about 1 min 30 s left",
                     "  05_vae  3/3 cells  2 min 10 s elapsed, 30 s over the usual 1 min 40 s"]


def test_format_duration():
    from course_lib.progress import format_duration

    assert [format_duration(s) for s in (0.4, 59.4, 61, 3599)] == ["0 s", "59 s", "1 min 01 s",
                                                                  "59 min 59 s"]


def test_publish_keeps_the_run_time_for_the_next_estimate(tmp_path):
    src = tmp_path / "run.ipynb"
    nbformat.write(_executed_notebook(), src)
    dest = runner.publish(src, tmp_path / "00_x.ipynb", run_seconds=123.456)
    assert runner.published_seconds(dest) == 123.5


def _tiny_course(root, cells_by_name):
    (root / "course_lib").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    (root / "notebooks").mkdir()
    for name, sources in cells_by_name.items():
        nb = nbformat.v4.new_notebook()
        params = nbformat.v4.new_code_cell("PROFILE = None")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params] + [nbformat.v4.new_code_cell(s) for s in sources]
        nb.metadata["kernelspec"] = {"name": runner.KERNEL_NAME, "display_name": "x", "language": "python"}
        nbformat.write(nb, root / "notebooks" / f"{name}.ipynb")


@pytest.mark.notebook
def test_make_course_reports_a_failing_notebook_by_name_and_keeps_noise_in_the_log(tmp_path):
    """Two tiny notebooks: the failing one is named, the next still runs, stderr goes to the log."""
    import subprocess
    import sys

    save = ("from course_lib.results import ResultsRecorder\n"
            "ResultsRecorder('{n}', profile='smoke', data_source='t').save()")
    _tiny_course(tmp_path / "repo", {
        "00_fails": ["import os\nos.write(2, b'E0000 cuda_platform.cc failed call to cuInit\\n')",
                     "raise ValueError('planted failure')"],
        "01_works": ["import os\nos.write(2, b'NodeDef mentions attribute use_unbounded_threadpool\\n')",
                     save.format(n="01_works"), "print('fine')"],
    })
    env = {**__import__("os").environ, "COURSE_ROOT": str(tmp_path / "repo"),
           "COURSE_BUILD_DIR": str(tmp_path / "build")}
    done = subprocess.run([sys.executable, "-m", "course_lib.runner", "run", "--profile", "smoke"],
                          env=env, capture_output=True, text=True, timeout=300)
    terminal = done.stdout + done.stderr
    assert done.returncode != 0
    assert "00_fails.ipynb FAILED" in terminal and "ValueError: planted failure" in terminal
    assert "failed: 00_fails.ipynb" in terminal
    assert "01_works.ipynb done" in terminal and "01_works" in terminal.split("notebook ")[-1]
    assert "cuInit" not in terminal and "NodeDef" not in terminal
    assert "without encryption" not in terminal
    log = (tmp_path / "build" / "logs" / "course.log").read_text()
    assert "cuInit" in log and "NodeDef" in log
