"""Tests for the VAE figures in course_lib.plotting: latent manifold, interpolations,
latent traversals, rate-distortion curve and the conditional VAE's class x sample grid.

Decoders are tiny NumPy functions that write their latent input into the pixels, so a
tile drawn in the wrong place (or a grid upside down) fails a test.
"""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import plotting  # noqa: E402

CLASSES = ["T-shirt/top", "Trouser", "Pullover"]
MINUS = "\N{MINUS SIGN}"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- helpers


def image_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.images]


def column_axis(fig: Figure):
    """The axes without images that carries a grid's column ticks and x-label."""
    (ax,) = [ax for ax in fig.axes if not ax.images and ax.get_xlabel()]
    return ax


def tick_texts(ticklabels) -> list[str]:
    return [t.get_text() for t in ticklabels]


def row_labels(fig: Figure) -> list[str]:
    return [ax.get_ylabel() for ax in image_axes(fig) if ax.get_ylabel()]


def encode(v: np.ndarray) -> np.ndarray:
    """Latent values in [-5, 5] -> pixel values in [0, 1] (and back with decode_value)."""
    return (np.asarray(v, dtype=float) + 5.0) / 10.0


def decode_value(pixel: float) -> float:
    return float(pixel) * 10.0 - 5.0


class CodedDecoder:
    """A stand-in decoder whose (H=3, W=d+1) image holds z: row r, column k is encode(z[k]).

    Records each call so tests can check what latent points were decoded.
    """

    def __init__(self, channel: bool = False) -> None:
        self.calls: list[np.ndarray] = []
        self.channel = channel

    def __call__(self, z: np.ndarray) -> np.ndarray:
        self.calls.append(np.array(z))
        m, d = z.shape
        img = np.empty((m, 3, d + 1))
        img[:, :, :d] = encode(z)[:, None, :]
        img[:, :, d] = 0.5  # a constant column, so images are not just stripes of z
        return img[..., None] if self.channel else img


def ref_ppf(p: float) -> float:
    """The standard-normal quantile by bisection on the math.erf CDF (to ~1e-13)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- inverse normal CDF


@pytest.mark.parametrize(
    "p", [1e-6, 1e-3, 0.02, 0.02425, 0.03, 0.05, 0.3, 0.5, 0.7, 0.95, 0.975, 0.999, 1 - 1e-6]
)
def test_normal_ppf_matches_bisection_on_erf(p):
    assert plotting._normal_ppf(p) == pytest.approx(ref_ppf(p), abs=1e-6)


def test_normal_ppf_known_values_symmetry_and_vectorised():
    ppf = plotting._normal_ppf
    assert ppf(0.975) == pytest.approx(1.959963984540054, abs=1e-9)
    assert ppf(0.5) == 0.0
    p = np.linspace(0.01, 0.99, 41)
    x = ppf(p)
    assert x.shape == p.shape and np.all(np.diff(x) > 0)
    np.testing.assert_allclose(x, -ppf(1 - p), atol=1e-9)
    cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(cdf, p, atol=1e-12)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5])
def test_normal_ppf_rejects_probabilities_outside_0_1(p):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        plotting._normal_ppf([0.5, p])


# --------------------------------------------------------------------------- latent_manifold


def manifold_picture(fig: Figure) -> np.ndarray:
    (ax,) = fig.axes
    (im,) = ax.images
    assert im.origin == "upper"  # picture row 0 is drawn at the top
    return np.asarray(im.get_array())


def test_latent_manifold_tile_i_j_decodes_z1_right_z2_up():
    decode = CodedDecoder()
    n, vals = 5, np.linspace(-2.0, 2.0, 5)
    fig = plotting.latent_manifold(
        decode, n=n, prior_quantiles=False, extent=(-2, 2), title="Manifold"
    )
    pic = manifold_picture(fig)
    h, w = 3, 3
    assert pic.shape == (n * h, n * w)
    for i in range(n):  # picture row, from the top
        for j in range(n):  # picture column, from the left
            tile = pic[i * h : (i + 1) * h, j * w : (j + 1) * w]
            expected = decode(np.array([[vals[j], vals[n - 1 - i]]], dtype=np.float32))[0]
            np.testing.assert_allclose(tile, expected, atol=1e-6)
    # Spelled out: top-left is (smallest z1, largest z2), bottom-right the opposite.
    assert decode_value(pic[0, 0]) == pytest.approx(-2) and decode_value(
        pic[0, 1]
    ) == pytest.approx(2)
    assert decode_value(pic[-1, -3]) == pytest.approx(2)
    assert decode_value(pic[-1, -2]) == pytest.approx(-2)


def test_latent_manifold_calls_decode_once_with_float32_points():
    decode = CodedDecoder()
    plotting.latent_manifold(decode, n=4, title="t")
    (z,) = decode.calls
    assert z.dtype == np.float32 and z.shape == (16, 2)


def test_latent_manifold_prior_quantile_grid():
    decode = CodedDecoder()
    fig = plotting.latent_manifold(decode, n=7, title="Quantiles")
    expected = [ref_ppf(p) for p in np.linspace(0.05, 0.95, 7)]
    (z,) = decode.calls
    np.testing.assert_allclose(np.unique(z[:, 0]), expected, atol=1e-6)
    np.testing.assert_allclose(np.unique(z[:, 1]), expected, atol=1e-6)
    pic = manifold_picture(fig)
    assert decode_value(pic[0, 1]) == pytest.approx(expected[-1], abs=1e-5)  # top row: largest z2
    ax = fig.axes[0]
    assert ax.get_title() == "Quantiles"
    assert ax.get_xlabel().startswith("$z_1$") and "0.05" in ax.get_xlabel()
    assert ax.get_ylabel() == "$z_2$"
    fig = plotting.latent_manifold(decode, n=3, quantile_range=(0.1, 0.9), title="t")
    np.testing.assert_allclose(
        np.unique(decode.calls[-1][:, 0]), [ref_ppf(0.1), 0, ref_ppf(0.9)], atol=1e-6
    )


def test_latent_manifold_ticks_at_tile_centres_label_z_values():
    decode = CodedDecoder()  # 3 x 3 tiles
    fig = plotting.latent_manifold(decode, n=15, title="t")
    ax = fig.axes[0]
    vals = [ref_ppf(p) for p in np.linspace(0.05, 0.95, 15)]
    idx = [0, 2, 4, 6, 8, 10, 12, 14]  # every other tile, symmetric about the centre
    np.testing.assert_allclose(ax.get_xticks(), [3 * j + 1 for j in idx])
    np.testing.assert_allclose(ax.get_yticks(), [3 * i + 1 for i in idx])
    xlabels = tick_texts(ax.get_xticklabels())
    ylabels = tick_texts(ax.get_yticklabels())
    assert xlabels == [plotting._num(vals[j]) for j in idx]
    assert xlabels[0] == f"{MINUS}1.64" and xlabels[-1] == "1.64"
    assert ylabels == xlabels[::-1]  # the top tick (smallest pixel row) has the largest z2
    fig = plotting.latent_manifold(decode, n=5, prior_quantiles=False, extent=(-1, 1), title="t")
    assert tick_texts(fig.axes[0].get_xticklabels()) == [
        f"{MINUS}1",
        f"{MINUS}0.5",
        "0",
        "0.5",
        "1",
    ]


def test_latent_manifold_accepts_channel_last_images():
    fig = plotting.latent_manifold(CodedDecoder(channel=True), n=3, title="t")
    assert manifold_picture(fig).shape == (9, 9)


def test_latent_manifold_tiles_rgb_images():
    def rgb(z):
        return np.broadcast_to(encode(z)[:, None, None, :1], (len(z), 2, 2, 3)).copy()

    fig = plotting.latent_manifold(rgb, n=3, prior_quantiles=False, extent=(-1, 1), title="t")
    pic = manifold_picture(fig)
    assert pic.shape == (6, 6, 3)
    assert decode_value(pic[0, 0, 0]) == pytest.approx(-1) and decode_value(
        pic[0, 5, 0]
    ) == pytest.approx(1)


@pytest.mark.parametrize(
    ("decode", "message"),
    [
        (lambda z: np.zeros((len(z) - 1, 4, 4)), "returned 8 images for 9 latent points"),
        (lambda z: np.zeros((len(z), 16)), r"returned shape \(9, 16\).*reshape"),
        (lambda z: np.full((len(z), 4, 4), 3.0), "sigmoid"),
        (lambda z: np.full((len(z), 4, 4), np.nan), "NaN"),
    ],
)
def test_latent_manifold_rejects_bad_decoder_output(decode, message):
    with pytest.raises(ValueError, match=message):
        plotting.latent_manifold(decode, n=3, title="t")


def test_latent_manifold_rejects_bad_grid_arguments():
    decode = CodedDecoder()
    with pytest.raises(ValueError, match="prior_quantiles=False"):
        plotting.latent_manifold(decode, extent=(-3, 3), title="t")
    with pytest.raises(ValueError, match=r"extent=\(-3, 3\)"):
        plotting.latent_manifold(decode, prior_quantiles=False, title="t")
    with pytest.raises(ValueError, match="low < high"):
        plotting.latent_manifold(decode, prior_quantiles=False, extent=(2, -2), title="t")
    with pytest.raises(ValueError, match=">= 2"):
        plotting.latent_manifold(decode, n=1, title="t")
    with pytest.raises(ValueError, match="0 < low < high < 1"):
        plotting.latent_manifold(decode, quantile_range=(0.0, 0.9), title="t")
    with pytest.raises(TypeError, match="callable"):
        plotting.latent_manifold(np.zeros((4, 2)), title="t")
    assert decode.calls == []  # argument errors come before any decoding


# --------------------------------------------------------------------------- interpolate


@pytest.mark.parametrize("mode", ["linear", "slerp"])
def test_interpolate_endpoints_are_exact(mode):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16).astype(np.float32), rng.normal(size=16).astype(np.float32)
    z = plotting.interpolate(a, b, 7, mode=mode)
    assert z.shape == (7, 16) and z.dtype == np.float32
    np.testing.assert_array_equal(z[0], a)
    np.testing.assert_array_equal(z[-1], b)


def test_interpolate_linear_is_evenly_spaced_with_mean_midpoint():
    a, b = np.array([0.0, 2.0, -4.0]), np.array([1.0, -2.0, 4.0])
    z = plotting.interpolate(a, b, 5)
    assert z.dtype == np.float64
    np.testing.assert_allclose(z[2], (a + b) / 2)
    np.testing.assert_allclose(np.diff(z, axis=0), np.tile((b - a) / 4, (4, 1)))
    assert plotting.interpolate([0, 0], [1, 1], 2).dtype == np.float64  # integer inputs


def test_interpolate_slerp_keeps_the_norm_and_walks_the_great_circle():
    rng = np.random.default_rng(1)
    a = rng.normal(size=32)
    b = rng.normal(size=32)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    z = plotting.interpolate(a, b, 11, mode="slerp")
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), np.linalg.norm(a), rtol=1e-12)
    mid = z[5] / np.linalg.norm(z[5])
    np.testing.assert_allclose(mid, (a + b) / np.linalg.norm(a + b), atol=1e-12)
    angles = [
        math.acos(np.clip(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)), -1, 1))
        for u, v in zip(z[:-1], z[1:], strict=True)
    ]
    np.testing.assert_allclose(angles, angles[0], rtol=1e-9)  # constant angular speed
    lin = plotting.interpolate(a, b, 11)
    assert np.linalg.norm(lin[5]) < np.linalg.norm(a)  # the straight line cuts inside


def test_interpolate_slerp_of_parallel_vectors_is_the_line():
    a = np.array([1.0, 2.0])
    np.testing.assert_allclose(
        plotting.interpolate(a, 3 * a, 5, mode="slerp"), plotting.interpolate(a, 3 * a, 5)
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([0.0, 1.0], [1.0, 0.0], 1), {}, ">= 2"),
        (([0.0, 1.0], [1.0, 0.0], 2.5), {}, ">= 2"),
        (([0.0, 1.0], [1.0, 0.0, 2.0], 3), {}, r"same shape.*\(2,\).*\(3,\)"),
        ((np.zeros((1, 4)), np.zeros((1, 4)), 3), {}, r"z\[0\]"),
        (([0.0, 1.0], [1.0, 0.0], 3), {"mode": "spline"}, "'linear' or 'slerp'"),
        (([1.0, 1.0], [-1.0, -1.0], 3), {"mode": "slerp"}, "opposite directions"),
        (([0.0, 0.0], [1.0, 0.0], 3), {"mode": "slerp"}, "non-zero"),
    ],
)
def test_interpolate_rejects_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plotting.interpolate(*args, **kwargs)


# --------------------------------------------------------------------------- interpolation_rows


def tagged(n: int, offset: int = 0, size: int = 4) -> np.ndarray:
    """Images whose constant pixel value identifies them: image i is (offset + i) / 1000."""
    return np.stack([np.full((size, size), (offset + i) / 1000.0) for i in range(n)])


def image_index(ax) -> int:
    return round(float(ax.images[0].get_array()[0, 0]) * 1000)


def test_interpolation_rows_labelled_rows_in_order_with_t_under_columns():
    rows = {"autoencoder": tagged(5), "VAE": tagged(5, offset=100)[..., None]}
    fig = plotting.interpolation_rows(rows, title="Interpolations")
    assert fig.get_suptitle() == "Interpolations"
    axes = image_axes(fig)
    assert len(axes) == 10
    assert [image_index(ax) for ax in axes] == [0, 1, 2, 3, 4, 100, 101, 102, 103, 104]
    assert row_labels(fig) == ["autoencoder", "VAE"]
    assert axes[0].get_ylabel() == "autoencoder" and axes[5].get_ylabel() == "VAE"
    col = column_axis(fig)
    assert col.get_xlabel() == "interpolation t (0 = first image, 1 = second)"
    assert tick_texts(col.get_xticklabels()) == ["0", "0.25", "0.5", "0.75", "1"]
    # Each t label sits under the centre of its column.
    for x, ax in zip(col.get_xticks(), axes[5:], strict=True):
        box = ax.get_position()
        assert x == pytest.approx(box.x0 + box.width / 2)


def test_interpolation_rows_custom_endpoints_label():
    fig = plotting.interpolation_rows(
        {"VAE": tagged(3)}, title="t", endpoints_label="t (0 = shoe, 1 = bag)"
    )
    assert column_axis(fig).get_xlabel() == "t (0 = shoe, 1 = bag)"


def test_interpolation_rows_rejects_unequal_rows_and_empty():
    with pytest.raises(ValueError, match=r"same number.*'AE': 5.*'VAE': 4"):
        plotting.interpolation_rows({"AE": tagged(5), "VAE": tagged(4)}, title="t")
    with pytest.raises(ValueError, match="empty"):
        plotting.interpolation_rows({}, title="t")
    with pytest.raises(ValueError, match="reshape"):
        plotting.interpolation_rows({"AE": np.zeros((5, 16))}, title="t")
    with pytest.raises(ValueError, match="title"):
        plotting.interpolation_rows({"AE": tagged(5)}, title="")


def test_grid_x_label_fits_below_the_images_inside_the_figure():
    fig = plotting.interpolation_rows({"a": tagged(2), "b": tagged(2)}, title="t")
    canvas = FigureCanvasAgg(fig)  # figures made here are not attached to a pyplot canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    col = column_axis(fig)
    label_box = col.xaxis.label.get_window_extent(renderer)
    fig_box = fig.bbox
    lowest_image = min(ax.get_window_extent(renderer).y0 for ax in image_axes(fig))
    assert label_box.y0 >= fig_box.y0 and label_box.x0 >= fig_box.x0
    assert label_box.x1 <= fig_box.x1  # the figure is widened for a long x-label
    tick_boxes = [t.get_window_extent(renderer) for t in col.get_xticklabels()]
    assert all(b.y1 <= lowest_image for b in tick_boxes)
    assert all(label_box.y1 <= b.y0 + 1 for b in tick_boxes)


# --------------------------------------------------------------------------- latent_traversals


def test_latent_traversals_row_i_changes_only_dimension_dims_i():
    decode = CodedDecoder()
    base = np.array([0.5, -1.0, 2.0, 0.0])
    vals = np.array([-3.0, 0.0, 1.5, 3.0])
    fig = plotting.latent_traversals(decode, base, [2, 0], values=vals, title="Traversals")
    assert fig.get_suptitle() == "Traversals"
    (z,) = decode.calls
    assert z.dtype == np.float32 and z.shape == (8, 4)
    axes = image_axes(fig)
    assert len(axes) == 8
    for i, dim in enumerate([2, 0]):
        for j, v in enumerate(vals):
            shown = [decode_value(p) for p in axes[i * 4 + j].images[0].get_array()[0, :4]]
            expected = base.copy()
            expected[dim] = v
            np.testing.assert_allclose(shown, expected, atol=1e-5)
    assert row_labels(fig) == ["z[2]", "z[0]"]
    col = column_axis(fig)
    assert col.get_xlabel() == "value of the traversed latent dimension"
    assert tick_texts(col.get_xticklabels()) == [f"{MINUS}3", "0", "1.5", "3"]


def test_latent_traversals_default_values_and_kl_in_row_labels():
    fig = plotting.latent_traversals(
        CodedDecoder(), np.zeros(5), [3, 1], title="t", kl_per_dim=[0.0, 0.004, 0.0, 2.13, 9.0]
    )
    assert len(image_axes(fig)) == 2 * 9
    assert tick_texts(column_axis(fig).get_xticklabels())[::4] == [f"{MINUS}3", "0", "3"]
    assert row_labels(fig) == ["z[3]\n(KL 2.1 nats)", "z[1]\n(KL 0.0 nats)"]


def test_latent_traversals_dim_labels_and_single_dim():
    fig = plotting.latent_traversals(
        CodedDecoder(), np.zeros(3), 1, values=[0, 1], title="t", dim_labels=["slant"]
    )
    assert row_labels(fig) == ["slant"] and len(image_axes(fig)) == 2


@pytest.mark.parametrize(
    ("z_base", "dims", "kwargs", "message"),
    [
        (np.zeros(4), [1, 4], {}, r"\[4\] are out of range.*d=4.*0\.\.3"),
        (np.zeros(4), [-1], {}, "out of range"),
        (np.zeros(4), [0.5], {}, "integer"),
        (np.zeros(4), [], {}, "non-empty"),
        (np.zeros((1, 4)), [0], {}, r"shape \(d,\).*\(1, 4\).*z\[0\]"),
        (np.zeros(4), [0, 1], {"dim_labels": ["a"]}, "dim_labels has 1"),
        (np.zeros(4), [0], {"kl_per_dim": [1.0, 2.0]}, "length d=4"),
        (np.zeros(4), [0], {"values": []}, "values"),
    ],
)
def test_latent_traversals_rejects_bad_input(z_base, dims, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plotting.latent_traversals(CodedDecoder(), z_base, dims, title="t", **kwargs)


def test_latent_traversals_rejects_bad_decoder_output():
    with pytest.raises(ValueError, match="returned 1 images for 9 latent points"):
        plotting.latent_traversals(lambda z: np.zeros((1, 4, 4)), np.zeros(2), [0], title="t")


# --------------------------------------------------------------------------- rate_distortion


def test_rate_distortion_joins_points_in_order_of_beta_and_annotates_them():
    points = {4: (11.3, 104.9), 0.5: (32.1, 80.4), 1: (24.0, 86.2), 10: (4.1, 140.2)}
    fig = plotting.rate_distortion(points, title="Rate vs distortion")
    (ax,) = fig.axes
    assert ax.get_title() == "Rate vs distortion"
    assert ax.get_xlabel() == "rate: KL(q(z|x) || p(z)) [nats]"
    assert ax.get_ylabel() == "distortion: −E log p(x|z) [nats]"
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), [32.1, 24.0, 11.3, 4.1])
    np.testing.assert_allclose(line.get_ydata(), [80.4, 86.2, 104.9, 140.2])
    assert line.get_marker() == "o"
    assert [t.get_text() for t in ax.texts] == ["β=0.5", "β=1", "β=4", "β=10"]
    assert [t.xy for t in ax.texts] == [(32.1, 80.4), (24.0, 86.2), (11.3, 104.9), (4.1, 140.2)]


def test_rate_distortion_string_keys():
    fig = plotting.rate_distortion(
        {"2": (5.0, 50.0), "0.25": (9.0, 40.0)}, title="t", xlabel="R", ylabel="D"
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["β=0.25", "β=2"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("R", "D")
    fig = plotting.rate_distortion(
        {"AE": (60.0, 30.0), 1: (20.0, 45.0), 0.1: (40.0, 35.0)}, title="t"
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["AE", "β=1", "β=0.1"]  # order given
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [60.0, 20.0, 40.0])


def test_rate_distortion_rejects_bad_points():
    with pytest.raises(ValueError, match="empty"):
        plotting.rate_distortion({}, title="t")
    with pytest.raises(ValueError, match=r"points\[4\].*\(rate, distortion\) pair"):
        plotting.rate_distortion({4: (1.0, 2.0, 3.0)}, title="t")
    with pytest.raises(ValueError, match="not finite"):
        plotting.rate_distortion({1: (float("nan"), 2.0)}, title="t")
    with pytest.raises(ValueError, match="title"):
        plotting.rate_distortion({1: (1.0, 2.0)}, title="")


# --------------------------------------------------------------------------- class_by_sample_grid


def test_class_by_sample_grid_rows_are_classes_columns_are_samples():
    grid = tagged(12).reshape(3, 4, 4, 4)[..., None]  # image [k, j] has index 4k + j
    fig = plotting.class_by_sample_grid(grid, class_names=CLASSES, title="CVAE")
    assert fig.get_suptitle() == "CVAE"
    axes = image_axes(fig)
    assert [image_index(ax) for ax in axes] == list(range(12))
    assert row_labels(fig) == CLASSES
    assert [axes[4 * k].get_ylabel() for k in range(3)] == CLASSES
    col = column_axis(fig)
    assert col.get_xlabel() == "latent sample"
    assert tick_texts(col.get_xticklabels()) == ["1", "2", "3", "4"]
    ys = [round(ax.get_position().y0, 4) for ax in axes]
    assert ys[0] == ys[3] > ys[4] == ys[7] > ys[8]  # one row per class, top to bottom


def test_class_by_sample_grid_rejects_bad_shapes_and_names():
    with pytest.raises(ValueError, match=r"\(n_classes, n_samples, H, W\).*\(12, 4, 4\)"):
        plotting.class_by_sample_grid(tagged(12), class_names=CLASSES, title="t")
    with pytest.raises(ValueError, match="3 rows .* 2 class names"):
        plotting.class_by_sample_grid(
            tagged(12).reshape(3, 4, 4, 4), class_names=CLASSES[:2], title="t"
        )
    with pytest.raises(ValueError, match="empty"):
        plotting.class_by_sample_grid(np.zeros((3, 0, 4, 4)), class_names=CLASSES, title="t")


# --------------------------------------------------------------------------- all of them


def every_new_figure() -> dict[str, Figure]:
    decode = CodedDecoder()
    return {
        "latent_manifold": plotting.latent_manifold(decode, n=4, title="a"),
        "interpolation_rows": plotting.interpolation_rows({"x": tagged(3)}, title="b"),
        "latent_traversals": plotting.latent_traversals(decode, np.zeros(2), [0], title="c"),
        "rate_distortion": plotting.rate_distortion({1: (1.0, 2.0)}, title="d"),
        "class_by_sample_grid": plotting.class_by_sample_grid(
            tagged(6).reshape(3, 2, 4, 4), class_names=CLASSES, title="e"
        ),
    }


def test_new_figures_are_not_registered_with_pyplot_and_render(tmp_path):
    before = plt.get_fignums()
    figures = every_new_figure()
    assert plt.get_fignums() == before
    for name, fig in figures.items():
        out = plotting.save_figure(fig, tmp_path / name)
        assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("name", ["latent_manifold", "latent_traversals"])
def test_decoder_figures_require_a_title_before_decoding(name):
    decode = CodedDecoder()
    with pytest.raises(ValueError, match="title"):
        if name == "latent_manifold":
            plotting.latent_manifold(decode, title=" ")
        else:
            plotting.latent_traversals(decode, np.zeros(2), [0], title="")
    assert decode.calls == []


def test_new_functions_are_exported():
    for name in [
        "latent_manifold",
        "interpolate",
        "interpolation_rows",
        "latent_traversals",
        "rate_distortion",
        "class_by_sample_grid",
    ]:
        assert name in plotting.__all__
