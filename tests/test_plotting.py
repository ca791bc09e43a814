"""Tests for course_lib.plotting: every figure has a title, labels, and shows the data given."""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402

from course_lib import plotting  # noqa: E402

CLASSES = ["T-shirt/top", "Trouser", "Pullover"]


# --------------------------------------------------------------------------- helpers


def title_of(fig: Figure) -> str:
    """The suptitle, or else the first axes' title."""
    return fig.get_suptitle() or fig.axes[0].get_title()


def image_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.images]


def tagged_images(n: int, size: int = 6) -> np.ndarray:
    """Images whose constant pixel value identifies them: image i is filled with i / 1000."""
    return np.stack([np.full((size, size), i / 1000.0) for i in range(n)]).astype(np.float64)


def image_index(ax) -> int:
    return round(float(ax.images[0].get_array()[0, 0]) * 1000)


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def history(epochs: int = 5, *, val: bool = True, extra: bool = True) -> dict:
    h = {"loss": list(np.linspace(1.0, 0.1, epochs))}
    if val:
        h["val_loss"] = list(np.linspace(1.1, 0.2, epochs))
    if extra:
        h["mae"] = list(np.linspace(0.5, 0.05, epochs))
        h["val_mae"] = list(np.linspace(0.6, 0.1, epochs))
        h["learning_rate"] = [1e-3] * epochs
    return h


class FakeHistory:
    """Duck-typed keras.callbacks.History."""

    def __init__(self, h: dict) -> None:
        self.history = h


# --------------------------------------------------------------------------- style


def test_use_course_style_sets_rcparams_and_is_idempotent():
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        plotting.use_course_style()
        first = dict(matplotlib.rcParams)
        plotting.use_course_style()
        assert dict(matplotlib.rcParams) == first
        assert matplotlib.rcParams["axes.grid"] is True
        assert matplotlib.rcParams["figure.constrained_layout.use"] is True
        assert matplotlib.rcParams["figure.dpi"] == 100
        assert matplotlib.rcParams["savefig.dpi"] == 120
        assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][0] == "#1f77b4"


@pytest.mark.parametrize("logy", [False, True])
def test_figures_get_course_style_without_touching_global_rcparams(logy):
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        before = dict(matplotlib.rcParams)
        fig = plotting.plot_history(history(), metrics="loss", title="t", logy=logy)
        assert dict(matplotlib.rcParams) == before
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    fig.canvas.draw()  # ticks are created lazily at draw time, outside the style context
    ax = fig.axes[0]
    assert ax.xaxis.get_major_ticks()[-1].label1.get_fontsize() == pytest.approx(9.5)
    assert ax.xaxis.get_major_ticks()[-1].gridline.get_visible()


def test_figures_are_not_registered_with_pyplot():
    before = plt.get_fignums()
    plotting.bar_chart({"a": 1.0}, title="t", ylabel="y")
    plotting.image_grid(tagged_images(3), title="t")
    assert plt.get_fignums() == before


def test_importing_plotting_does_not_import_tensorflow():
    code = "import sys, course_lib.plotting; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_every_function_requires_a_title():
    with pytest.raises(ValueError, match="title"):
        plotting.image_grid(tagged_images(2), title="")
    with pytest.raises(ValueError, match="title"):
        plotting.bar_chart({"a": 1.0}, title="  ", ylabel="y")


# --------------------------------------------------------------------------- image_grid


def test_image_grid_shows_each_image_in_order_row_major():
    x = tagged_images(12)
    fig = plotting.image_grid(x, ncols=5, title="Twelve images")
    assert title_of(fig) == "Twelve images"
    axes = image_axes(fig)
    assert len(axes) == 12 == len(fig.axes)  # no empty placeholder axes
    for i, ax in enumerate(axes):
        np.testing.assert_array_equal(ax.images[0].get_array(), x[i])
    ys = [round(ax.get_position().y0, 4) for ax in axes]
    xs = [round(ax.get_position().x0, 4) for ax in axes]
    assert ys[0] == ys[4] > ys[5] == ys[9] > ys[10]  # 5 per row, top row first
    assert xs[0] < xs[1] < xs[4] and xs[0] == xs[5]


def test_image_grid_axes_hide_ticks_and_spines():
    fig = plotting.image_grid(tagged_images(2), title="t")
    ax = fig.axes[0]
    assert len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0
    assert not any(s.get_visible() for s in ax.spines.values())


def test_image_grid_accepts_channel_last_uint8_and_scales_it():
    x = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4, 1) * 7
    fig = plotting.image_grid(x, title="uint8")
    got = fig.axes[1].images[0].get_array()
    np.testing.assert_allclose(got, x[1, ..., 0] / 255.0, rtol=1e-6)
    assert fig.axes[1].images[0].get_clim() == (0.0, 1.0)


def test_image_grid_accepts_rgb():
    x = np.random.default_rng(0).random((3, 5, 5, 3))
    fig = plotting.image_grid(x, title="rgb")
    assert fig.axes[2].images[0].get_array().shape == (5, 5, 3)
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), x[2])


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((10, 784), "reshape"),
        ((0, 28, 28), "empty"),
        ((4, 8, 8, 2), r"\(N, H, W\)"),
        ((28, 28, 28, 28, 1), "got shape"),
    ],
)
def test_image_grid_rejects_bad_shapes_with_a_helpful_message(shape, message):
    with pytest.raises(ValueError, match=message):
        plotting.image_grid(np.zeros(shape), title="bad")


def test_image_grid_titles_and_row_labels():
    x = tagged_images(6)
    fig = plotting.image_grid(
        x, ncols=3, title="t", titles=list("abcdef"), row_labels=["first", "second"]
    )
    assert [ax.get_title() for ax in fig.axes] == list("abcdef")
    assert [ax.get_ylabel() for ax in fig.axes] == ["first", "", "", "second", "", ""]


def test_image_grid_rejects_wrong_number_of_row_labels_and_titles():
    with pytest.raises(ValueError, match="2 rows"):
        plotting.image_grid(tagged_images(6), ncols=3, title="t", row_labels=["only one"])
    with pytest.raises(ValueError, match="6 images"):
        plotting.image_grid(tagged_images(6), title="t", titles=["a"])


def test_image_grid_handles_a_few_hundred_images():
    x = tagged_images(150, size=4)
    fig = plotting.image_grid(x, ncols=15, title="many")
    axes = image_axes(fig)
    assert len(axes) == 150
    assert image_index(axes[149]) == 149
    w, h = fig.get_size_inches()
    assert w / h == pytest.approx(15 / 10, rel=0.1)  # cells stay square


# --------------------------------------------------------------------------- class_grid


def test_class_grid_one_labelled_row_per_class_with_members_of_that_class():
    labels = np.array([0, 1, 2] * 10 + [0, 0])
    labels[[1, 4]] = 0  # class 1 keeps 8 examples, class 0 has 14
    x = tagged_images(len(labels))
    fig = plotting.class_grid(x, labels, CLASSES, per_class=5, title="Classes")
    assert fig.get_suptitle() == "Classes"
    rows, current = {}, None
    for ax in fig.axes:
        if ax.get_ylabel():
            current = ax.get_ylabel()
        rows.setdefault(current, []).append(image_index(ax))
    assert list(rows) == CLASSES
    for k, name in enumerate(CLASSES):
        assert len(rows[name]) == 5
        assert len(set(rows[name])) == 5  # no duplicates
        assert all(labels[i] == k for i in rows[name])


def test_class_grid_is_deterministic_and_depends_on_seed():
    labels = np.arange(300) % 3
    x = tagged_images(300, size=2)

    def picked(seed):
        fig = plotting.class_grid(x, labels, CLASSES, per_class=4, title="t", seed=seed)
        return [image_index(ax) for ax in fig.axes]

    assert picked(0) == picked(0)
    assert picked(0) != picked(1)


def test_class_grid_shows_what_a_small_class_has():
    labels = np.array([0, 0, 0, 1, 2, 2, 2])
    fig = plotting.class_grid(tagged_images(7), labels, CLASSES, per_class=3, title="t")
    assert len(image_axes(fig)) == 3 + 1 + 3
    assert sorted(ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()) == sorted(CLASSES)


def test_class_grid_rejects_labels_outside_class_names():
    with pytest.raises(ValueError, match="3 class names"):
        plotting.class_grid(tagged_images(4), [0, 1, 2, 3], CLASSES, title="t")
    with pytest.raises(ValueError, match="4 images/points but 3 labels"):
        plotting.class_grid(tagged_images(4), [0, 1, 2], CLASSES, title="t")


# --------------------------------------------------------------------------- compare_reconstructions


def test_compare_reconstructions_rows_originals_then_each_set():
    orig = tagged_images(12)
    a, b = tagged_images(12)[::-1].copy(), tagged_images(12) * 0.5
    fig = plotting.compare_reconstructions(
        orig, {"PCA k=32": a, "MLP AE": b[..., None]}, n=4, title="Recon"
    )
    assert fig.get_suptitle() == "Recon"
    axes = fig.axes
    assert len(image_axes(fig)) == 12  # 3 rows x n=4
    assert [ax.get_ylabel() for ax in axes[::4]] == ["original", "PCA k=32", "MLP AE"]
    for j in range(4):
        np.testing.assert_array_equal(axes[j].images[0].get_array(), orig[j])
        np.testing.assert_array_equal(axes[4 + j].images[0].get_array(), a[j])
        np.testing.assert_array_equal(axes[8 + j].images[0].get_array(), b[j])


def test_compare_reconstructions_single_array_and_labels():
    orig = tagged_images(3)
    fig = plotting.compare_reconstructions(orig, orig, title="t", labels=["x", "y", "z"])
    assert [ax.get_ylabel() for ax in fig.axes[::3]] == ["original", "reconstruction"]
    assert [ax.get_title() for ax in fig.axes[:3]] == ["x", "y", "z"]
    assert all(ax.get_title() == "" for ax in fig.axes[3:])


def test_compare_reconstructions_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as err:
        plotting.compare_reconstructions(
            np.zeros((5, 8, 8)), {"MLP AE": np.zeros((5, 64))}, title="t"
        )
    msg = str(err.value)
    assert "MLP AE" in msg and "(5, 8, 8)" in msg and "(5, 64)" in msg
    with pytest.raises(ValueError, match=r"\(5, 9, 9\)"):
        plotting.compare_reconstructions(np.zeros((5, 8, 8)), np.zeros((5, 9, 9)), title="t")


def test_compare_reconstructions_needs_enough_reconstructions():
    with pytest.raises(ValueError, match="at least 5 images"):
        plotting.compare_reconstructions(np.zeros((5, 8, 8)), np.zeros((2, 8, 8)), title="t")


# --------------------------------------------------------------------------- plot_history


def test_plot_history_panels_train_and_val_with_one_based_epochs():
    h = history(epochs=7)
    fig = plotting.plot_history(FakeHistory(h), title="Training")
    assert fig.get_suptitle() == "Training"
    assert len(fig.axes) == 2  # loss and mae; learning_rate is not a default panel
    for ax, metric in zip(fig.axes, ["loss", "mae"], strict=True):
        assert ax.get_title() == metric
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == metric
        train, val = ax.get_lines()
        np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 8))
        np.testing.assert_allclose(train.get_ydata(), h[metric])
        np.testing.assert_allclose(val.get_ydata(), h[f"val_{metric}"])
        assert legend_texts(ax) == ["train", "validation"]


def test_plot_history_selected_metric_without_validation_and_log_scale():
    fig = plotting.plot_history(
        history(epochs=4, val=False, extra=False), metrics="loss", title="Loss", logy=True
    )
    (ax,) = fig.axes
    assert ax.get_title() == "Loss"
    assert len(ax.get_lines()) == 1
    assert ax.get_yscale() == "log"


def test_plain_log_axis_labels_ticks_as_plain_numbers():
    fig = Figure()
    ax = fig.subplots()
    ax.plot([60, 900], [20, 30])
    plotting.plain_log_axis(ax, "x")
    fig.canvas.draw()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    labels = [t.get_text() for t in ax.get_xticklabels(minor=False) + ax.get_xticklabels(minor=True)]
    assert "100" in labels and "200" in labels
    assert not any("10^" in t or "times" in t for t in labels)
    with pytest.raises(ValueError, match="'x' or 'y'"):
        plotting.plain_log_axis(ax, "z")


def test_plot_history_learning_rate_only_when_asked():
    fig = plotting.plot_history(history(), metrics=["loss", "learning_rate"], title="t")
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "learning_rate"]


def test_plot_history_missing_metric_lists_available_keys():
    with pytest.raises(KeyError) as err:
        plotting.plot_history(history(), metrics="accuracy", title="t")
    msg = str(err.value)
    assert "accuracy" in msg and "val_loss" in msg and "mae" in msg


def test_plot_history_draws_on_given_axes():
    fig = Figure()
    ax = fig.subplots()
    out = plotting.plot_history(history(epochs=3), metrics="mae", title="MAE", ax=ax)
    assert out is fig
    assert ax.get_title() == "MAE" and len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="one metric"):
        plotting.plot_history(history(), title="t", ax=ax)


def test_plot_history_rejects_empty_and_wrong_types():
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_history({}, title="t")
    with pytest.raises(TypeError, match="History"):
        plotting.plot_history([0.1, 0.2], title="t")


# --------------------------------------------------------------------------- plot_histories


def test_plot_histories_one_colour_per_run_solid_train_dashed_val():
    h1, h2 = history(epochs=4), history(epochs=6)
    fig = plotting.plot_histories({"MSE loss": h1, "BCE loss": FakeHistory(h2)}, title="Runs")
    (ax,) = fig.axes
    assert ax.get_title() == "Runs"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    lines = ax.get_lines()
    assert len(lines) == 4
    assert [ln.get_linestyle() for ln in lines] == ["-", "--", "-", "--"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    np.testing.assert_array_equal(lines[2].get_xdata(), np.arange(1, 7))
    np.testing.assert_allclose(lines[3].get_ydata(), h2["val_loss"])
    assert legend_texts(ax) == ["MSE loss", "BCE loss", "train", "validation"]


def test_plot_histories_without_validation():
    fig = plotting.plot_histories({"a": history(), "b": history()}, title="t", validation=False)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and all(ln.get_linestyle() == "-" for ln in lines)
    assert legend_texts(fig.axes[0]) == ["a", "b"]


def test_plot_histories_missing_metric_names_the_run():
    with pytest.raises(KeyError, match="second"):
        plotting.plot_histories(
            {"first": history(), "second": {"loss": [1.0]}}, metric="mae", title="t"
        )


# --------------------------------------------------------------------------- latent_scatter


def clustered_codes(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    codes = np.stack([labels * 10.0, labels * 10.0], axis=1) + rng.normal(0, 1, (n, 2))
    return codes, labels


def test_latent_scatter_colours_points_by_class_and_labels_legend():
    codes, labels = clustered_codes(300)
    fig = plotting.latent_scatter(codes, labels, CLASSES, title="Latent", xlabel="a", ylabel="b")
    (ax,) = fig.axes
    assert ax.get_title() == "Latent"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a", "b")
    assert legend_texts(ax) == CLASSES
    coll = ax.collections[0]
    offsets = coll.get_offsets()
    assert len(offsets) == 300
    handle_colours = [to_rgb(h.get_color()) for h in ax.get_legend().legend_handles]
    point_class = np.rint(offsets[:, 0] / 10).clip(0, 2).astype(int)  # clusters are 10 apart
    for colour, k in zip(coll.get_facecolors()[:, :3], point_class, strict=True):
        np.testing.assert_allclose(colour, handle_colours[k], atol=1e-6)


def test_latent_scatter_default_axis_labels():
    codes, labels = clustered_codes(20)
    ax = plotting.latent_scatter(codes, labels, CLASSES, title="t").axes[0]
    assert ax.get_xlabel() == "$z_1$" and ax.get_ylabel() == "$z_2$"


def test_latent_scatter_subsamples_deterministically():
    codes, labels = clustered_codes(1000)

    def offsets(seed):
        fig = plotting.latent_scatter(codes, labels, CLASSES, title="t", max_points=50, seed=seed)
        return np.asarray(fig.axes[0].collections[0].get_offsets())

    a, b = offsets(0), offsets(0)
    assert a.shape == (50, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, offsets(1))
    assert all(any(np.allclose(p, q) for q in codes) for p in a[:5])  # real points


def test_latent_scatter_rejects_non_2d_codes():
    with pytest.raises(ValueError, match=r"\(N, 2\).*\(10, 3\)"):
        plotting.latent_scatter(np.zeros((10, 3)), np.zeros(10, int), CLASSES, title="t")


def test_latent_scatter_on_given_axes():
    codes, labels = clustered_codes(30)
    fig = Figure()
    ax = fig.subplots()
    assert plotting.latent_scatter(codes, labels, CLASSES, title="t", ax=ax) is fig
    assert len(ax.collections[0].get_offsets()) == 30


# --------------------------------------------------------------------------- bar_chart and save


def test_bar_chart_heights_labels_and_annotations():
    values = {"PCA": 0.0123, "linear AE": 0.0124, "MLP AE": 0.009}
    fig = plotting.bar_chart(values, title="MSE", ylabel="MSE per pixel", xlabel="model")
    (ax,) = fig.axes
    assert ax.get_title() == "MSE"
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("MSE per pixel", "model")
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, list(values.values()))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(values)
    assert [t.get_text() for t in ax.texts] == ["0.0123", "0.0124", "0.0090"]
    assert ax.get_ylim()[1] >= 1.1 * max(heights)  # headroom for the annotations


def test_bar_chart_without_annotation_and_custom_format():
    ax = plotting.bar_chart({"a": 1.0}, title="t", ylabel="y", annotate=False).axes[0]
    assert len(ax.texts) == 0
    ax = plotting.bar_chart({"a": 12.345}, title="t", ylabel="y", fmt="{:.1f}").axes[0]
    assert ax.texts[0].get_text() == "12.3"


def test_bar_chart_rejects_empty_and_non_finite():
    with pytest.raises(ValueError, match="empty"):
        plotting.bar_chart({}, title="t", ylabel="y")
    with pytest.raises(ValueError, match="broken"):
        plotting.bar_chart({"ok": 1.0, "broken": float("nan")}, title="t", ylabel="y")


def test_save_figure_writes_png_and_creates_folders(tmp_path):
    fig = plotting.bar_chart({"a": 1.0, "b": 2.0}, title="t", ylabel="y")
    out = plotting.save_figure(fig, tmp_path / "deep" / "er" / "bars.png")
    assert out == tmp_path / "deep" / "er" / "bars.png"
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    assert plotting.save_figure(fig, tmp_path / "noext").name == "noext.png"
    assert (tmp_path / "noext.png").is_file()


def test_figures_render_as_png_in_an_ipython_shell():
    """Our figures bypass pyplot, so the PNG formatter must be registered for them."""
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        fig = plotting.bar_chart({"a": 1.0, "b": 2.0}, title="t", ylabel="y")
        data, _ = shell.display_formatter.format(fig)
        png = data["image/png"]
        raw = png if isinstance(png, bytes) else base64.b64decode(png)
        assert raw[:4] == b"\x89PNG"
    finally:
        InteractiveShell.clear_instance()
