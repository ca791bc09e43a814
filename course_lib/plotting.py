"""One consistent figure style for the whole course.

Every figure is read by a self-paced learner, so every figure has a title and every axis
that shows data has labelled axes. Image grids hide their axes but carry a suptitle and,
where useful, row labels on the left.

All functions return the matplotlib :class:`~matplotlib.figure.Figure` they drew on, so a
notebook displays it and a test can inspect it; none calls ``plt.show()``. Figures are not
registered with pyplot (no figure leaks, no double display in Jupyter): make the call the
last expression of a cell, or ``display(fig)``, to see it. The course style
is applied to every figure made here (through :func:`matplotlib.rc_context`), whether or
not the notebook called :func:`use_course_style`; calling it also styles the learner's own
figures. TensorFlow is never imported: a Keras ``History`` is accepted duck-typed (anything
with a ``.history`` dict) as well as a plain ``{metric: [values per epoch]}`` dict.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter, MaxNLocator

__all__ = [
    "bar_chart",
    "class_by_sample_grid",
    "class_grid",
    "compare_reconstructions",
    "image_grid",
    "interpolate",
    "interpolation_rows",
    "latent_manifold",
    "latent_scatter",
    "latent_traversals",
    "plot_histories",
    "plot_history",
    "rate_distortion",
    "save_figure",
    "use_course_style",
]

# Tableau 10: a qualitative palette that stays distinguishable for ten classes.
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip

_SAVE_DPI = 120

# The course style. Read-only by convention: only use_course_style() writes it to rcParams.
_COURSE_RC: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": _SAVE_DPI,
    "savefig.bbox": "tight",
    "figure.constrained_layout.use": True,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "font.size": 10.5,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(_PALETTE)),
    "lines.linewidth": 1.8,
    "legend.framealpha": 0.85,
    "image.interpolation": "nearest",
}

_LABEL_FONTSIZE = 10  # row labels of image grids
_CELL_TITLE_FONTSIZE = 8  # small titles above single images
_MAX_LEGEND_INSIDE = 4  # more legend entries than this go outside the axes
_MAX_FLAT_BAR_LABEL = 12  # longer bar names (characters) are written at an angle


def use_course_style() -> None:
    """Apply the course style to matplotlib's global ``rcParams`` (idempotent).

    Readable font sizes, a light grid on line plots, constrained layout (no overlapping
    labels), a fixed colour cycle, screen dpi 100 and saved-figure dpi 120. Figures made by
    this module use the style anyway; call this so the learner's own plots match.
    """
    mpl.rcParams.update(_COURSE_RC)


def _enable_notebook_display() -> bool:
    """Make Jupyter render a returned :class:`Figure` as a PNG; return whether it now does.

    The inline backend registers its PNG formatter only once pyplot creates its first
    figure. Our figures bypass pyplot, so a notebook whose first figure comes from this module
    would show ``<Figure size ...>`` as text. Outside IPython this does nothing.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        from IPython.core.pylabtools import select_figure_formats

        select_figure_formats(shell, {"png"})
    return True


def _styled(func: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a plotting function under the course style without touching global rcParams."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        _enable_notebook_display()
        with mpl.rc_context(_COURSE_RC):
            return func(*args, **kwargs)

    return wrapper


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure *not* registered with pyplot, in constrained layout.

    Not going through pyplot means no global figure registry: nothing leaks when a notebook
    draws dozens of figures, and Jupyter shows a returned figure exactly once (a pyplot
    figure would be shown by the inline backend *and* as the cell's value).
    """
    return Figure(figsize=figsize, layout="constrained")


def _require_title(title: str) -> str:
    if not isinstance(title, str) or not title.strip():
        raise ValueError("every course figure needs a non-empty title (title=...)")
    return title


# --------------------------------------------------------------------------- image grids


def _as_images(images: Any, *, what: str = "images") -> np.ndarray:
    """Return images as (N, H, W) or (N, H, W, 3) floats; uint8 is scaled to [0, 1]."""
    arr = np.asarray(images)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 3 or (arr.ndim == 4 and arr.shape[-1] == 3)):
        hint = ""
        if arr.ndim == 2:
            hint = (
                " Flattened vectors? Reshape them first, e.g. x.reshape(-1, 28, 28);"
                " a single image? Pass img[None]."
            )
        raise ValueError(
            f"{what} must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3); "
            f"got shape {arr.shape}.{hint}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{what} is empty (shape {arr.shape}); there is nothing to plot.")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{what} must be numeric; got dtype {arr.dtype}.")
    return arr.astype(np.float32) if arr.dtype == np.bool_ else arr


def _hide_frame(ax: Axes) -> None:
    """Hide ticks, spines and grid but keep the axis, so a y-label can act as a row label."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _show_image(ax: Axes, img: np.ndarray, *, cmap: str, vmin: float, vmax: float) -> None:
    if img.ndim == 3:  # RGB: imshow needs [0, 1]; clip quietly instead of warning
        ax.imshow(np.clip(img, 0.0, 1.0))
    else:
        ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax)


def _label_margin(row_labels: Sequence[str] | None) -> float:
    """Width (inches) reserved left of the grid for row labels, from the longest label."""
    if not row_labels:
        return 0.0
    longest = max(max((len(s) for s in str(label).splitlines()), default=0) for label in row_labels)
    return min(3.0, 0.2 + 0.085 * longest)


# Image-grid geometry, in inches. Grids are laid out by hand rather than by constrained
# layout: a grid of a few hundred images would otherwise spend seconds in the layout engine.
_GRID_MARGIN = 0.08
_GRID_TOP = 0.5  # room for the suptitle
_GRID_GAP = 0.06  # between cells, as a fraction of the cell size
_CELL_TITLE_HEIGHT = 0.2
_TITLE_INCH_PER_CHAR = 0.115  # bold 13 pt suptitle


def _grid_geometry(
    ncols: int, *, cell: float, left: float, row_titles: Sequence[bool], title: str
) -> tuple[tuple[float, float], list[list[tuple[float, float, float, float]]]]:
    """Figure size (inches) and each cell's axes rectangle (figure fractions), top row first.

    ``row_titles[r]`` says whether row ``r`` has small titles above its images; only those
    rows get the extra height, so a titled top row does not spread out the whole grid.
    """
    gap = _GRID_GAP * cell
    heights = [cell + (_CELL_TITLE_HEIGHT if t else 0.0) for t in row_titles]
    grid_w = ncols * cell + (ncols - 1) * gap
    grid_h = sum(heights) + (len(heights) - 1) * gap
    left += _GRID_MARGIN
    width = max(left + grid_w + _GRID_MARGIN, _TITLE_INCH_PER_CHAR * len(title) + 0.4)
    left += (width - (left + grid_w + _GRID_MARGIN)) / 2  # centre a narrow grid
    height = _GRID_TOP + grid_h + _GRID_MARGIN
    rects = []
    top = height - _GRID_TOP  # inches from the bottom edge to the top of the current row
    for row_h in heights:
        bottom = top - row_h
        rects.append(
            [
                ((left + c * (cell + gap)) / width, bottom / height, cell / width, cell / height)
                for c in range(ncols)
            ]
        )
        top = bottom - gap
    return (width, height), rects


def _draw_grid(
    cells: list[list[np.ndarray | None]],
    *,
    title: str,
    row_labels: Sequence[str] | None = None,
    cell_titles: list[list[str | None]] | None = None,
    cmap: str = "gray",
    vmin: float = 0.0,
    vmax: float = 1.0,
    cell_size: float = 1.1,
) -> Figure:
    """Draw a rows x cols grid of images; ``None`` cells get no axes.

    Axes are created only for images and for the first cell of a labelled row, so
    ``fig.axes`` holds the image axes (plus a label holder for a row with no images).
    """
    _require_title(title)
    ncols = max(len(row) for row in cells)
    row_titles = [bool(cell_titles and any(cell_titles[r])) for r in range(len(cells))]
    figsize, rects = _grid_geometry(
        ncols, cell=cell_size, left=_label_margin(row_labels), row_titles=row_titles, title=title
    )
    fig = Figure(figsize=figsize, layout="none")
    with mpl.rc_context({"axes.grid": False}):  # no grid: also makes axes creation ~2x faster
        _fill_grid(
            fig,
            cells,
            rects,
            row_labels=row_labels,
            cell_titles=cell_titles,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
        )
    fig.suptitle(title, y=1 - 0.12 / figsize[1], va="top")
    return fig


def _fill_grid(
    fig: Figure,
    cells: list[list[np.ndarray | None]],
    rects: list[list[tuple[float, float, float, float]]],
    *,
    row_labels: Sequence[str] | None,
    cell_titles: list[list[str | None]] | None,
    cmap: str,
    vmin: float,
    vmax: float,
) -> None:
    """Add one axes per image (and per row label) at the precomputed rectangles."""
    for r, row in enumerate(rects):
        label = row_labels[r] if row_labels is not None else None
        for c, rect in enumerate(row):
            img = cells[r][c] if c < len(cells[r]) else None
            if img is None and not (c == 0 and label is not None):
                continue
            ax = fig.add_axes(rect)
            _hide_frame(ax)
            if img is not None:
                _show_image(ax, img, cmap=cmap, vmin=vmin, vmax=vmax)
            if cell_titles is not None and c < len(cell_titles[r]) and cell_titles[r][c]:
                ax.set_title(str(cell_titles[r][c]), fontsize=_CELL_TITLE_FONTSIZE, pad=2)
            if c == 0 and label is not None:
                ax.set_ylabel(
                    str(label),
                    rotation=0,
                    ha="right",
                    va="center",
                    fontsize=_LABEL_FONTSIZE,
                    labelpad=6,
                )


@_styled
def image_grid(
    images: Any,
    *,
    ncols: int = 10,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    title: str,
    cmap: str = "gray",
    vmin: float = 0.0,
    vmax: float = 1.0,
    cell_size: float = 1.1,
) -> Figure:
    """Show images in a grid, ``ncols`` per row, with a suptitle.

    ``images`` is (N, H, W), (N, H, W, 1) or (N, H, W, 3), floats in [0, 1] or uint8
    (scaled to [0, 1]). ``titles`` (one per image) are written small above each image;
    ``row_labels`` (one per row) on the left. Grey-scale images use ``cmap`` with fixed
    ``vmin``/``vmax`` so brightness is comparable across images and figures.
    """
    imgs = _as_images(images)
    n = len(imgs)
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1; got {ncols}")
    nrows = math.ceil(n / ncols)
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles has {len(titles)} entries but there are {n} images")
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(
            f"row_labels has {len(row_labels)} entries but the grid has {nrows} rows "
            f"({n} images, ncols={ncols})"
        )
    cells: list[list[np.ndarray | None]] = [
        [imgs[i] for i in range(r * ncols, min(n, (r + 1) * ncols))] for r in range(nrows)
    ]
    cell_titles = None
    if titles is not None:
        cell_titles = [
            [titles[i] for i in range(r * ncols, min(n, (r + 1) * ncols))] for r in range(nrows)
        ]
    return _draw_grid(
        cells,
        title=title,
        row_labels=row_labels,
        cell_titles=cell_titles,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        cell_size=cell_size,
    )


def _as_label_array(labels: Any, n: int) -> np.ndarray:
    """Integer class labels of length ``n``; one-hot rows (N, K>1) are converted by argmax."""
    lab = np.asarray(labels)
    if lab.ndim == 2 and lab.shape[1] > 1:
        lab = lab.argmax(axis=1)
    lab = lab.reshape(-1)
    if len(lab) != n:
        raise ValueError(f"got {n} images/points but {len(lab)} labels; they must match")
    if not np.issubdtype(lab.dtype, np.integer):
        if not np.issubdtype(lab.dtype, np.number) or not np.all(np.mod(lab, 1) == 0):
            raise ValueError(f"labels must be integer class indices; got dtype {lab.dtype}")
    return lab.astype(int)


def _check_class_range(lab: np.ndarray, class_names: Sequence[str]) -> None:
    if len(lab) and (lab.min() < 0 or lab.max() >= len(class_names)):
        raise ValueError(
            f"labels range over [{lab.min()}, {lab.max()}] but there are only "
            f"{len(class_names)} class names"
        )


@_styled
def class_grid(
    images: Any,
    labels: Any,
    class_names: Sequence[str],
    *,
    per_class: int = 8,
    title: str,
    seed: int = 0,
) -> Figure:
    """One row per class, labelled with the class name, showing ``per_class`` random examples.

    Examples are drawn without replacement by a seeded generator, so the figure is the
    same on every run. A class with fewer examples shows what it has.
    """
    imgs = _as_images(images)
    lab = _as_label_array(labels, len(imgs))
    _check_class_range(lab, class_names)
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1; got {per_class}")
    rng = np.random.default_rng(seed)
    cells: list[list[np.ndarray | None]] = []
    for k in range(len(class_names)):
        idx = np.flatnonzero(lab == k)
        chosen = np.sort(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
        row: list[np.ndarray | None] = [imgs[i] for i in chosen]
        cells.append(row + [None] * (per_class - len(row)))
    return _draw_grid(cells, title=title, row_labels=[str(c) for c in class_names])


@_styled
def compare_reconstructions(
    originals: Any,
    reconstructions: Any,
    *,
    n: int = 10,
    title: str,
    labels: Sequence[str] | None = None,
) -> Figure:
    """Originals in the top row, one row per reconstruction set below, rows labelled.

    ``reconstructions`` is one array (row label "reconstruction") or a dict
    ``{label: array}`` such as ``{"PCA k=32": r_pca, "MLP AE": r_mlp}``. The first ``n``
    images are shown; every set must have the originals' image shape (a trailing channel
    of size 1 is ignored). ``labels`` (optional, e.g. class names) are written above the
    original images.
    """
    orig = _as_images(originals, what="originals")
    sets = (
        reconstructions
        if isinstance(reconstructions, Mapping)
        else {"reconstruction": reconstructions}
    )
    if not sets:
        raise ValueError("reconstructions is an empty dict; give at least one set")
    k = min(n, len(orig))
    rows: list[list[np.ndarray | None]] = [list(orig[:k])]
    for name, rec in sets.items():
        mismatch = ValueError(
            f"reconstructions[{name!r}] has shape {np.shape(rec)} but originals have shape "
            f"{np.shape(originals)}; each set needs at least {k} images of the originals' "
            f"image shape {orig.shape[1:]} (reshape flat model outputs first)"
        )
        try:
            arr = _as_images(rec, what=f"reconstructions[{name!r}]")
        except ValueError as exc:
            raise mismatch from exc
        if arr.shape[1:] != orig.shape[1:] or len(arr) < k:
            raise mismatch
        rows.append(list(arr[:k]))
    cell_titles = None
    if labels is not None:
        if len(labels) < k:
            raise ValueError(f"labels has {len(labels)} entries but {k} images are shown")
        cell_titles = [[str(s) for s in labels[:k]]] + [[None] * k for _ in sets]
    row_labels = ["original", *[str(name) for name in sets]]
    return _draw_grid(rows, title=title, row_labels=row_labels, cell_titles=cell_titles)


# --------------------------------------------------------------------------- training curves

_NOT_DEFAULT_METRICS = ("learning_rate", "lr")


def _history_dict(history: Any) -> dict[str, np.ndarray]:
    """Accept a Keras History (duck-typed) or a dict of per-epoch lists."""
    raw = getattr(history, "history", history)
    if not isinstance(raw, Mapping):
        raise TypeError(
            "history must be a Keras History (with a .history dict) or a dict "
            f"{{metric: [value per epoch]}}; got {type(history).__name__}"
        )
    out = {str(k): np.asarray(v, dtype=float).reshape(-1) for k, v in raw.items()}
    if not out or all(len(v) == 0 for v in out.values()):
        raise ValueError("history is empty: was the model trained (fit) for at least one epoch?")
    return out


def _pick_metrics(hist: Mapping[str, np.ndarray], metrics: str | Sequence[str] | None) -> list[str]:
    if metrics is None:
        chosen = [k for k in hist if not k.startswith("val_") and k not in _NOT_DEFAULT_METRICS]
        return chosen or [k for k in hist if not k.startswith("val_")] or list(hist)
    chosen = [metrics] if isinstance(metrics, str) else list(metrics)
    missing = [m for m in chosen if m not in hist]
    if missing:
        raise KeyError(f"metric(s) {missing} not in history; available keys: {sorted(hist)}")
    return chosen


def _epochs(values: np.ndarray) -> np.ndarray:
    return np.arange(1, len(values) + 1)


def _format_curve_axes(ax: Axes, *, ylabel: str, logy: bool) -> None:
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if logy:
        _log_y(ax)


class _PlainLogFormatter(LogFormatter):
    """Matplotlib's choice of which log ticks to label, written as plain numbers (0.02, not
    2e-02), which learners read more easily."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def plain_log_axis(ax: Axes, axis: str = "x") -> None:
    """Put ``axis`` ("x" or "y") of ``ax`` on a log scale that stays readable over a short range.

    Tick labels are plain numbers (100, 200, 300; not 10^2, 2x10^2), some minor ticks are
    labelled and a faint minor grid is drawn: for quantities such as loss curves or file sizes
    in bytes, which rarely span even two decades.
    """
    if axis not in ("x", "y"):
        raise ValueError(f"plain_log_axis: axis must be 'x' or 'y', got {axis!r}.")
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    target.set_major_formatter(_PlainLogFormatter())
    target.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    ax.grid(True, which="minor", axis=axis, alpha=0.15)


def _log_y(ax: Axes) -> None:
    plain_log_axis(ax, "y")


@_styled
def plot_history(
    history: Any,
    *,
    metrics: str | Sequence[str] | None = None,
    title: str,
    logy: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Training curves: one panel per metric, train and ``val_`` curves on the same panel.

    ``metrics`` defaults to every key not starting with ``val_`` (the learning rate is left
    out unless asked for). x is the 1-based epoch. With ``ax`` given, exactly one metric is
    drawn on it. A missing metric raises ``KeyError`` listing the available keys.
    """
    _require_title(title)
    hist = _history_dict(history)
    chosen = _pick_metrics(hist, metrics)
    if ax is not None and len(chosen) != 1:
        raise ValueError(f"with ax=... plot_history draws one metric; got {chosen}")
    if ax is None:
        ncols = min(3, len(chosen))
        nrows = math.ceil(len(chosen) / ncols)
        fig = _new_figure((4.6 * ncols, 3.4 * nrows + 0.3))
        axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
        for extra in axes[len(chosen) :]:
            extra.remove()
    else:
        fig, axes = ax.figure, [ax]
    for panel, metric in zip(axes, chosen, strict=False):
        panel.plot(_epochs(hist[metric]), hist[metric], label="train", marker="o", markersize=3)
        if f"val_{metric}" in hist:
            val = hist[f"val_{metric}"]
            panel.plot(_epochs(val), val, label="validation", marker="o", markersize=3)
        _format_curve_axes(panel, ylabel=metric, logy=logy)
        panel.legend()
    if len(chosen) == 1:
        axes[0].set_title(title)
    else:
        fig.suptitle(title)
        for panel, metric in zip(axes, chosen, strict=False):
            panel.set_title(metric)
    return fig


def _legend_outside_if_crowded(ax: Axes, handles: list[Any]) -> None:
    if len(handles) > _MAX_LEGEND_INSIDE:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    else:
        ax.legend(handles=handles)


@_styled
def plot_histories(
    histories: Mapping[str, Any],
    *,
    metric: str = "loss",
    title: str,
    logy: bool = False,
    validation: bool = True,
) -> Figure:
    """Compare several runs on one axis: one colour per run, solid train, dashed validation.

    ``histories`` maps a run label to a History or dict, e.g.
    ``{"MSE loss": h1, "BCE loss": h2}``. Runs without ``val_<metric>`` show train only.
    """
    _require_title(title)
    if not histories:
        raise ValueError("histories is empty; give {run label: history}")
    fig = _new_figure((6.8, 4.2))
    ax = fig.subplots()
    handles: list[Any] = []
    any_val = False
    for i, (name, history) in enumerate(histories.items()):
        hist = _history_dict(history)
        if metric not in hist:
            raise KeyError(f"run {name!r} has no metric {metric!r}; available keys: {sorted(hist)}")
        colour = _PALETTE[i % len(_PALETTE)]
        ax.plot(_epochs(hist[metric]), hist[metric], color=colour, label=f"{name} (train)")
        if validation and f"val_{metric}" in hist:
            val = hist[f"val_{metric}"]
            ax.plot(_epochs(val), val, color=colour, linestyle="--", label=f"{name} (validation)")
            any_val = True
        handles.append(Line2D([], [], color=colour, linewidth=4, label=str(name)))
    if any_val:
        handles += [
            Line2D([], [], color="0.3", linestyle="-", label="train"),
            Line2D([], [], color="0.3", linestyle="--", label="validation"),
        ]
    _format_curve_axes(ax, ylabel=metric, logy=logy)
    _legend_outside_if_crowded(ax, handles)
    ax.set_title(title)
    return fig


# --------------------------------------------------------------------------- latent space


def _class_colours(n_classes: int) -> list[Any]:
    """Qualitative colours: Tableau 10 up to 10 classes, tab20 up to 20, then sampled turbo."""
    if n_classes <= 10:
        return list(_PALETTE[:n_classes])
    if n_classes <= 20:
        return list(mpl.colormaps["tab20"].colors[:n_classes])
    turbo = mpl.colormaps["turbo"]
    return [turbo(i / (n_classes - 1)) for i in range(n_classes)]


def _subsample(n: int, max_points: int, seed: int) -> np.ndarray:
    """A deterministic random subset (in random order, so no class is always drawn on top)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n)[: max(1, max_points)]


def _equalish_aspect(ax: Axes, xy: np.ndarray) -> None:
    """Equal axis scales when the code's spread is comparable in both directions."""
    spans = np.ptp(xy, axis=0) if len(xy) else np.ones(2)
    if np.all(spans > 0) and 0.25 <= spans[0] / spans[1] <= 4.0:
        ax.set_aspect("equal", adjustable="datalim")


@_styled
def latent_scatter(
    codes: Any,
    labels: Any,
    class_names: Sequence[str],
    *,
    title: str,
    ax: Axes | None = None,
    max_points: int = 5000,
    seed: int = 0,
    xlabel: str = "$z_1$",
    ylabel: str = "$z_2$",
) -> Figure:
    """Scatter 2-D latent codes coloured by class, with a legend of class names.

    At most ``max_points`` points are drawn, chosen by a seeded generator (deterministic)
    and drawn in random order so no class hides the others. The legend sits outside the
    axes so it never covers data.
    """
    _require_title(title)
    xy = np.asarray(codes, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(
            f"latent_scatter needs 2-D codes of shape (N, 2); got shape {xy.shape}. "
            "For a larger latent space, project to 2-D first (e.g. PCA)."
        )
    lab = _as_label_array(labels, len(xy))
    _check_class_range(lab, class_names)
    keep = _subsample(len(xy), max_points, seed)
    xy, lab = xy[keep], lab[keep]
    colours = _class_colours(len(class_names))
    if ax is None:
        fig = _new_figure((7.2, 5.4))
        ax = fig.subplots()
    else:
        fig = ax.figure
    point_colours = [colours[k] for k in lab]
    ax.scatter(xy[:, 0], xy[:, 1], c=point_colours, s=7, alpha=0.7, linewidths=0)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colours[k], markersize=7, label=str(name))
        for k, name in enumerate(class_names)
    ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0,
        title="class",
        frameon=False,
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _equalish_aspect(ax, xy)
    return fig


# --------------------------------------------------------------------------- bars and saving


@_styled
def bar_chart(
    values: Mapping[str, float],
    *,
    title: str,
    ylabel: str,
    xlabel: str = "",
    annotate: bool = True,
    fmt: str = "{:.4f}",
) -> Figure:
    """Bars for a metric comparison, e.g. ``{"PCA": 0.0123, "MLP AE": 0.0090}``.

    With ``annotate`` the value is written on each bar using ``fmt``; headroom is added so
    the numbers are never clipped.
    """
    _require_title(title)
    if not values:
        raise ValueError("values is empty; give {label: number}")
    names = [str(k) for k in values]
    heights = np.asarray([float(v) for v in values.values()])
    if not np.all(np.isfinite(heights)):
        bad = [n for n, h in zip(names, heights, strict=True) if not np.isfinite(h)]
        raise ValueError(f"bar_chart values must be finite; not finite: {bad}")
    fig = _new_figure((max(4.8, 1.05 * len(names) + 2.0), 4.0))
    ax = fig.subplots()
    colours = [_PALETTE[i % len(_PALETTE)] for i in range(len(names))]
    bars = ax.bar(names, heights, color=colours, width=0.65)
    if annotate:
        ax.bar_label(bars, labels=[fmt.format(h) for h in heights], padding=2, fontsize=9)
        lo, hi = min(0.0, heights.min()), max(0.0, heights.max())
        pad = 0.12 * (hi - lo if hi > lo else 1.0)
        ax.set_ylim(lo - (pad if lo < 0 else 0.0), hi + (pad if hi > 0 else 0.0))
    ax.grid(False, axis="x")
    if heights.min() < 0:
        ax.axhline(0.0, color="0.3", linewidth=0.8)  # the baseline bars grow from
    if max(len(s) for s in names) > _MAX_FLAT_BAR_LABEL:  # would collide with neighbours
        ax.tick_params(axis="x", labelrotation=20)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Save ``fig`` as a PNG (dpi 120, tight bounding box), creating parent folders.

    A path without a suffix gets ``.png``. Returns the path written.
    """
    out = Path(path)
    if out.suffix == "":
        out = out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=_SAVE_DPI, bbox_inches="tight", facecolor="white")
    return out


# --------------------------------------------------------------------------- generative models
#
# Figures for the variational-autoencoder notebooks: the decoded latent manifold, image
# interpolations, latent traversals, the rate-distortion trade-off of beta-VAEs and the
# class x latent-sample grid of a conditional VAE.

# Coefficients of Acklam's rational approximation to the standard-normal quantile function
# (relative error < 1.2e-9), refined below by one Halley step to near machine precision.
_ACKLAM_A = (
    -3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
    1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00,
)  # fmt: skip
_ACKLAM_B = (
    -5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
    6.680131188771972e01, -1.328068155288572e01,
)  # fmt: skip
_ACKLAM_C = (
    -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
    -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00,
)  # fmt: skip
_ACKLAM_D = (
    7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00,
)  # fmt: skip
_ACKLAM_P_LOW = 0.02425

_AXIS_BAND = 0.62  # inches below an image grid for column tick labels and an x-label
_XLABEL_INCH_PER_CHAR = 0.095  # 11 pt axis label
_PIXEL_TOLERANCE = 0.02  # decoded pixel values this far outside [0, 1] mean "not an image"
# Default latent values of a traversal: +-3 prior standard deviations. Read-only, as a default.
_TRAVERSAL_VALUES = np.linspace(-3.0, 3.0, 9)
_TRAVERSAL_VALUES.flags.writeable = False
_MAX_MANIFOLD_TICKS = 8  # labelled tiles per axis; more would collide


def _normal_ppf(p: Any) -> np.ndarray:
    """Quantiles of the standard normal distribution (the inverse CDF), in NumPy only.

    The course does not depend on SciPy, so ``scipy.stats.norm.ppf`` is replaced by Acklam's
    rational approximation plus one Halley step on ``math.erfc`` (error ~1e-15). ``p`` must
    lie strictly between 0 and 1.
    """
    prob = np.asarray(p, dtype=float)
    if not np.all((prob > 0.0) & (prob < 1.0)):
        raise ValueError(
            "normal quantiles need probabilities strictly between 0 and 1 (the quantiles of "
            f"0 and 1 are -inf and +inf); got values in [{prob.min()}, {prob.max()}]"
        )
    x = np.empty_like(prob)
    low, high = prob < _ACKLAM_P_LOW, prob > 1.0 - _ACKLAM_P_LOW
    mid = ~(low | high)
    q = prob[mid] - 0.5
    r = q * q
    a, b = _ACKLAM_A, _ACKLAM_B
    x[mid] = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0
    )
    c, d = _ACKLAM_C, _ACKLAM_D
    for mask, tail, sign in ((low, prob, 1.0), (high, 1.0 - prob, -1.0)):
        t = np.sqrt(-2.0 * np.log(tail[mask]))
        x[mask] = sign * (
            (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5])
            / ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0)
        )
    # One Halley step on Phi(x) - p, with Phi(x) = erfc(-x / sqrt 2) / 2 (accurate in both tails).
    erfc = np.vectorize(math.erfc, otypes=[float])
    err = 0.5 * erfc(-x / math.sqrt(2.0)) - prob
    u = err * math.sqrt(2.0 * math.pi) * np.exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


def _num(value: float) -> str:
    """A short label for a number: 3 significant digits, float noise such as -1e-17 shown as
    "0", and a typographic minus sign as on matplotlib's own tick labels."""
    text = f"{round(float(value), 10):.3g}"
    return "0" if text in ("0", "-0") else text.replace("-", "\N{MINUS SIGN}")


def _decoded_images(decode: Callable[[np.ndarray], Any], z: np.ndarray, *, who: str) -> np.ndarray:
    """Call ``decode`` on the (m, d) float32 latent points ``z`` and check what comes back.

    The decoded images must be m images of shape (H, W), (H, W, 1) or (H, W, 3) with
    pixel values in [0, 1]: a decoder that outputs logits would draw a black-and-white
    smear, so that is an error rather than a misleading figure.
    """
    if not callable(decode):
        raise TypeError(
            f"{who}: decode must be a callable mapping an (m, d) float32 array of latent points "
            f"to m images, e.g. decoder.predict or lambda z: decoder(z); got {type(decode).__name__}"
        )
    m = len(z)
    expected = f"{m} images of shape (H, W), (H, W, 1) or (H, W, 3)"
    raw = decode(z)
    try:
        out = np.asarray(raw)
    except (TypeError, ValueError) as exc:  # e.g. a ragged list
        raise ValueError(
            f"{who}: decode(z) did not return an array; it must return {expected}"
        ) from exc
    try:
        imgs = _as_images(out, what="decode(z)")
    except ValueError as exc:
        raise ValueError(
            f"{who}: decode(z) for z of shape {z.shape} returned shape {out.shape}; it must "
            f"return {expected} (reshape flat decoder outputs, e.g. out.reshape(-1, 28, 28))"
        ) from exc
    if len(imgs) != m:
        raise ValueError(
            f"{who}: decode(z) returned {len(imgs)} images for {m} latent points (z of shape "
            f"{z.shape}); it must return one image per row of z"
        )
    if not np.all(np.isfinite(imgs)):
        raise ValueError(f"{who}: decode(z) returned NaN or infinite pixel values")
    lo, hi = float(imgs.min()), float(imgs.max())
    if lo < -_PIXEL_TOLERANCE or hi > 1.0 + _PIXEL_TOLERANCE:
        raise ValueError(
            f"{who}: decode(z) returned pixel values in [{lo:.3g}, {hi:.3g}] but images are "
            "drawn on [0, 1]. If the decoder outputs logits, apply a sigmoid first, e.g. "
            "decode=lambda z: 1 / (1 + np.exp(-decoder.predict(z, verbose=0)))"
        )
    return imgs


def _add_column_axis(
    fig: Figure,
    rects: list[list[tuple[float, float, float, float]]],
    *,
    xlabel: str,
    column_labels: Sequence[str],
) -> Axes:
    """An invisible axes behind an image grid whose x-ticks sit under the grid's columns.

    Image cells hide their frames, so this one axes carries what a plot's x-axis would:
    one tick label per column and an x-label under the whole grid. It is added before the
    image axes so it is drawn beneath them.
    """
    widest = max(rects, key=len)
    x0 = min(rect[0] for row in rects for rect in row)
    x1 = max(rect[0] + rect[2] for row in rects for rect in row)
    y0 = min(rect[1] for row in rects for rect in row)
    y1 = max(rect[1] + rect[3] for row in rects for rect in row)
    ax = fig.add_axes((x0, y0, x1 - x0, y1 - y0))
    ax.set_xlim(x0, x1)
    ax.set_ylim(0.0, 1.0)
    ax.set_xticks([rect[0] + rect[2] / 2 for rect in widest], [str(s) for s in column_labels])
    ax.set_yticks([])
    ax.tick_params(axis="x", length=0, pad=3)
    ax.set_xlabel(xlabel, labelpad=4)
    ax.grid(False)
    ax.patch.set_visible(False)
    ax.set_navigate(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def _draw_labelled_grid(
    cells: list[list[np.ndarray | None]],
    *,
    title: str,
    row_labels: Sequence[str] | None,
    xlabel: str,
    column_labels: Sequence[str],
    cmap: str = "gray",
    vmin: float = 0.0,
    vmax: float = 1.0,
    cell_size: float = 1.0,
) -> Figure:
    """Like :func:`_draw_grid`, plus a labelled x-axis under the columns (see
    :func:`_add_column_axis`), for grids whose columns mean something: an interpolation
    fraction, a latent value, a latent sample."""
    _require_title(title)
    ncols = max(len(row) for row in cells)
    if len(column_labels) != ncols:
        raise ValueError(f"{len(column_labels)} column labels for {ncols} columns")
    # _grid_geometry widens the figure to fit its title string; make it fit the x-label too.
    label_chars = math.ceil(len(xlabel) * _XLABEL_INCH_PER_CHAR / _TITLE_INCH_PER_CHAR)
    (width, height), rects = _grid_geometry(
        ncols,
        cell=cell_size,
        left=_label_margin(row_labels),
        row_titles=[False] * len(cells),
        title=title.ljust(label_chars),
    )
    grown = height + _AXIS_BAND  # the same grid, moved up to leave a band for the x-axis
    rects = [
        [(x, (y * height + _AXIS_BAND) / grown, w, h * height / grown) for (x, y, w, h) in row]
        for row in rects
    ]
    fig = Figure(figsize=(width, grown), layout="none")
    with mpl.rc_context({"axes.grid": False}):
        _add_column_axis(fig, rects, xlabel=xlabel, column_labels=column_labels)
        _fill_grid(
            fig,
            cells,
            rects,
            row_labels=row_labels,
            cell_titles=None,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
        )
    fig.suptitle(title, y=1 - 0.12 / grown, va="top")
    return fig


def _manifold_coordinates(
    n: int,
    extent: tuple[float, float] | None,
    prior_quantiles: bool,
    quantile_range: tuple[float, float],
) -> np.ndarray:
    """The n grid values used for both z1 and z2, in increasing order."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n (tiles per side) must be an integer >= 2; got {n!r}")
    if prior_quantiles:
        if extent is not None:
            raise ValueError(
                f"extent={extent!r} is only used with prior_quantiles=False; pass "
                "prior_quantiles=False to decode a regular grid over extent, or drop extent "
                "to place the tiles at quantiles of the N(0, 1) prior"
            )
        lo, hi = (float(v) for v in quantile_range)
        if not 0.0 < lo < hi < 1.0:
            raise ValueError(
                "quantile_range must be two probabilities with 0 < low < high < 1, e.g. "
                f"(0.05, 0.95); got {quantile_range!r}"
            )
        return _normal_ppf(np.linspace(lo, hi, n))
    if extent is None:
        raise ValueError(
            "with prior_quantiles=False give the latent range to decode, e.g. extent=(-3, 3)"
        )
    try:
        lo, hi = (float(v) for v in extent)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"extent must be a pair (low, high) of numbers; got {extent!r}") from exc
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"extent must be finite with low < high; got {extent!r}")
    return np.linspace(lo, hi, n)


def _manifold_ticks(n: int) -> np.ndarray:
    """Indices of the tiles that get a tick: every k-th tile, at most ``_MAX_MANIFOLD_TICKS``
    of them, placed symmetrically about the centre when the spacing allows it (so a grid
    symmetric about 0 shows symmetric tick values)."""
    step = math.ceil(n / _MAX_MANIFOLD_TICKS)
    return np.arange(((n - 1) % step) // 2, n, step)


@_styled
def latent_manifold(
    decode: Callable[[np.ndarray], Any],
    *,
    n: int = 15,
    extent: tuple[float, float] | None = None,
    prior_quantiles: bool = True,
    quantile_range: tuple[float, float] = (0.05, 0.95),
    title: str,
    cmap: str = "gray",
    xlabel: str = "$z_1$",
    ylabel: str = "$z_2$",
    figsize: tuple[float, float] = (6.6, 6.9),
) -> Figure:
    """Decode an ``n`` x ``n`` grid of 2-D latent points and tile the images into one picture.

    This is the learned manifold of Kingma & Welling (2014, Fig. 4): walking across the
    picture walks through latent space, so a smooth picture means a smooth decoder.

    ``decode`` maps an (m, 2) float32 array of latent points to m images, (m, H, W) or
    (m, H, W, 1) (or RGB), with pixel values in [0, 1] (``decoder.predict`` of a sigmoid
    decoder, for instance). It is called once, with all ``n * n`` points.

    With ``prior_quantiles`` (the default) the grid values are the standard-normal quantiles
    of ``n`` evenly spaced probabilities in ``quantile_range``: each tile then stands for an
    equal share of prior probability, so the grid is denser near the origin where the prior
    puts its mass. Otherwise the values are ``np.linspace(*extent, n)``.

    Orientation, as in a scatter plot of the latent space: z1 increases to the right and z2
    increases *upwards*, so the top-left tile is (smallest z1, largest z2). The tile in
    picture row i (from the top) and column j decodes ``(values[j], values[n - 1 - i])``.
    A few tiles' centres carry ticks with their z values.
    """
    _require_title(title)
    values = _manifold_coordinates(n, extent, prior_quantiles, quantile_range)
    z1, z2 = np.meshgrid(values, values[::-1])  # row 0 of the picture is the largest z2
    z = np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)
    imgs = _decoded_images(decode, z, who="latent_manifold")
    h, w = imgs.shape[1:3]
    # (n*n, H, W[, 3]) -> (n, n, H, W[, 3]) -> (n, H, n, W[, 3]) -> (n*H, n*W[, 3])
    tiles = imgs.reshape(n, n, *imgs.shape[1:]).swapaxes(1, 2)
    picture = tiles.reshape(n * h, n * w, *imgs.shape[3:])
    fig = _new_figure(figsize)
    ax = fig.subplots()
    _show_image(ax, picture, cmap=cmap, vmin=0.0, vmax=1.0)
    ax.grid(False)
    ticks = _manifold_ticks(n)
    ax.set_xticks(ticks * w + (w - 1) / 2, [_num(values[j]) for j in ticks])
    ax.set_yticks(ticks * h + (h - 1) / 2, [_num(values[n - 1 - i]) for i in ticks])
    if prior_quantiles:
        lo, hi = quantile_range
        xlabel = f"{xlabel}   (tiles at N(0, 1) quantiles of p = {lo:g} … {hi:g})"
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


def interpolate(
    z_a: Any,
    z_b: Any,
    steps: int,
    *,
    mode: str = "linear",
) -> np.ndarray:
    """``steps`` latent points from ``z_a`` to ``z_b`` (both included), shape (steps, d).

    ``mode="linear"`` walks the straight line ``(1 - t) z_a + t z_b``. ``mode="slerp"`` walks
    the great circle (spherical interpolation, Shoemake 1985; White 2016 for generative
    models): with a Gaussian prior in many dimensions almost all probability lies near a
    sphere, and the midpoint of a straight line between two codes falls inside it, where
    the decoder has seen few codes; slerp keeps the norm when ``|z_a| == |z_b|``.
    t is ``np.linspace(0, 1, steps)``. The result has the inputs' float dtype (float64 for
    integer inputs); its first and last rows are exactly ``z_a`` and ``z_b``.
    """
    a, b = np.asarray(z_a), np.asarray(z_b)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"z_a and z_b must be two latent vectors of the same shape (d,); got {a.shape} and "
            f"{b.shape}. For codes from encoder.predict(x[:2]) pass z[0] and z[1]."
        )
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2 (it includes both ends); got {steps!r}")
    dtype = np.result_type(a.dtype, b.dtype, np.float32)
    a64, b64 = a.astype(float), b.astype(float)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if mode == "linear":
        out = (1.0 - t) * a64 + t * b64
    elif mode == "slerp":
        na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
        if na == 0.0 or nb == 0.0:
            raise ValueError(
                "slerp needs two non-zero vectors (a zero vector has no direction); use "
                "mode='linear'"
            )
        omega = math.acos(float(np.clip(a64 @ b64 / (na * nb), -1.0, 1.0)))
        sin_omega = math.sin(omega)
        if sin_omega < 1e-6 and omega < math.pi / 2:  # same direction: slerp is a line
            out = (1.0 - t) * a64 + t * b64
        elif sin_omega < 1e-6:
            raise ValueError(
                "z_a and z_b point in opposite directions, so no single great circle joins "
                "them; use mode='linear' or a slightly different pair"
            )
        else:
            out = (np.sin((1.0 - t) * omega) * a64 + np.sin(t * omega) * b64) / sin_omega
    else:
        raise ValueError(f"mode must be 'linear' or 'slerp'; got {mode!r}")
    out = out.astype(dtype)
    out[0], out[-1] = a, b  # exact ends, whatever the rounding in between
    return out


@_styled
def interpolation_rows(
    rows: Mapping[str, Any],
    *,
    title: str,
    endpoints_label: str = "interpolation t (0 = first image, 1 = second)",
    cmap: str = "gray",
    cell_size: float = 1.0,
) -> Figure:
    """Several labelled rows of interpolations between the same two images, one row per model.

    ``rows`` maps a row label to images of shape (steps, H, W), (steps, H, W, 1) or RGB,
    e.g. ``{"autoencoder": ae_row, "VAE": vae_row}``; every row needs the same number of
    steps. Column j is interpolation fraction ``t = j / (steps - 1)``, written under the
    column; ``endpoints_label`` is the x-axis label saying what t = 0 and t = 1 are.
    """
    _require_title(title)
    if not rows:
        raise ValueError("rows is empty; give {row label: images of shape (steps, H, W)}")
    arrays = {str(k): _as_images(v, what=f"rows[{k!r}]") for k, v in rows.items()}
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(
            f"every row needs the same number of interpolation steps; got {lengths}. Use the "
            "same steps for each model (e.g. interpolate(z_a, z_b, steps))."
        )
    steps = next(iter(lengths.values()))
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps (both ends); got {steps}")
    t = np.linspace(0.0, 1.0, steps)
    return _draw_labelled_grid(
        [list(v) for v in arrays.values()],
        title=title,
        row_labels=list(arrays),
        xlabel=endpoints_label,
        column_labels=[_num(v) for v in t],
        cmap=cmap,
        cell_size=cell_size,
    )


@_styled
def latent_traversals(
    decode: Callable[[np.ndarray], Any],
    z_base: Any,
    dims: int | Sequence[int],
    *,
    values: Any = _TRAVERSAL_VALUES,
    title: str,
    dim_labels: Sequence[str] | None = None,
    kl_per_dim: Any = None,
    cmap: str = "gray",
    cell_size: float = 1.0,
) -> Figure:
    """Change one latent dimension at a time and decode: one row per dimension in ``dims``.

    Row i decodes ``z_base`` with dimension ``dims[i]`` replaced by each of ``values`` (one
    column per value, the value written under the column), so a row shows what that
    dimension controls; a row that does not change is a dimension the model does not use.
    ``decode`` maps an (m, d) float32 array to m images in [0, 1] and is called once.

    Rows are labelled ``z[k]`` (or ``dim_labels``). ``kl_per_dim``, the average
    KL(q(z_k|x) || p(z_k)) of every latent dimension k (length d, in nats), adds each row's
    KL to its label: dimensions with KL near 0 carry no information about x.
    """
    _require_title(title)
    base = np.asarray(z_base, dtype=float)
    if base.ndim != 1 or base.size == 0:
        raise ValueError(
            f"z_base must be one latent vector of shape (d,); got shape {base.shape}. For a "
            "code from encoder.predict(x[:1]) pass z[0]."
        )
    d = base.size
    dim_arr = np.atleast_1d(np.asarray(dims))
    if dim_arr.ndim != 1 or dim_arr.size == 0 or not np.issubdtype(dim_arr.dtype, np.integer):
        raise ValueError(
            f"dims must be a non-empty list of integer dimension indices; got {dims!r}"
        )
    bad = [int(k) for k in dim_arr if not 0 <= k < d]
    if bad:
        raise ValueError(
            f"dims {bad} are out of range: the latent space has d={d} dimensions, 0..{d - 1}"
        )
    vals = np.asarray(values, dtype=float).reshape(-1)
    if vals.size == 0 or not np.all(np.isfinite(vals)):
        raise ValueError(f"values must be a non-empty list of finite numbers; got {values!r}")
    labels = (
        [f"z[{int(k)}]" for k in dim_arr] if dim_labels is None else [str(s) for s in dim_labels]
    )
    if len(labels) != len(dim_arr):
        raise ValueError(f"dim_labels has {len(labels)} entries but there are {len(dim_arr)} dims")
    if kl_per_dim is not None:
        kl = np.asarray(kl_per_dim, dtype=float).reshape(-1)
        if kl.size != d:
            raise ValueError(
                f"kl_per_dim must hold one KL per latent dimension (length d={d}); got length "
                f"{kl.size}"
            )
        labels = [f"{s}\n(KL {kl[k]:.1f} nats)" for s, k in zip(labels, dim_arr, strict=True)]
    z = np.repeat(base[None, :], len(dim_arr) * len(vals), axis=0)
    for i, k in enumerate(dim_arr):
        z[i * len(vals) : (i + 1) * len(vals), k] = vals
    imgs = _decoded_images(decode, z.astype(np.float32), who="latent_traversals")
    cells: list[list[np.ndarray | None]] = [
        list(imgs[i * len(vals) : (i + 1) * len(vals)]) for i in range(len(dim_arr))
    ]
    return _draw_labelled_grid(
        cells,
        title=title,
        row_labels=labels,
        xlabel="value of the traversed latent dimension",
        column_labels=[_num(v) for v in vals],
        cmap=cmap,
        cell_size=cell_size,
    )


def _beta_of(key: Any) -> float | None:
    """The numeric beta of a ``rate_distortion`` key, or None for a free-text label."""
    if isinstance(key, bool):
        return None
    try:
        return float(key)
    except (TypeError, ValueError):
        return None


@_styled
def rate_distortion(
    points: Mapping[float | str, tuple[float, float]],
    *,
    title: str,
    xlabel: str = "rate: KL(q(z|x) || p(z)) [nats]",
    ylabel: str = "distortion: −E log p(x|z) [nats]",
) -> Figure:
    """The rate-distortion trade-off of beta-VAEs: one marker per beta, joined in order of beta.

    ``points`` maps beta to ``(rate, distortion)``, e.g. ``{0.5: (32.1, 80.4), 1: (24.0,
    86.2), 4: (11.3, 104.9)}``: the average KL term and reconstruction term of the ELBO on
    held-out data. Each marker is annotated ``β=…``. Keys may be numbers or numeric strings;
    if any key is free text (e.g. ``"AE"``), points are joined in the order given and that
    key is written as it is.
    """
    _require_title(title)
    if not points:
        raise ValueError("points is empty; give {beta: (rate, distortion)}")
    entries: list[tuple[float | None, str, float, float]] = []
    for key, value in points.items():
        try:
            rate, distortion = (float(v) for v in value)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"points[{key!r}] must be a (rate, distortion) pair of numbers; got {value!r}"
            ) from exc
        if not (math.isfinite(rate) and math.isfinite(distortion)):
            raise ValueError(f"points[{key!r}] = {value!r} is not finite (did training diverge?)")
        beta = _beta_of(key)
        if beta is None:
            label = str(key)
        else:
            label = f"β={key}" if isinstance(key, str) else f"β={beta:g}"
        entries.append((beta, label, rate, distortion))
    if all(e[0] is not None for e in entries):
        entries.sort(key=lambda e: e[0])
    rates = [e[2] for e in entries]
    distortions = [e[3] for e in entries]
    fig = _new_figure((6.6, 4.6))
    ax = fig.subplots()
    ax.plot(rates, distortions, marker="o", markersize=7, color=_PALETTE[0])
    for _, label, rate, distortion in entries:
        ax.annotate(
            label,
            (rate, distortion),
            xytext=(7, 7),
            textcoords="offset points",
            fontsize=9.5,
            color="0.15",
        )
    ax.margins(0.15)  # room for the annotations inside the axes
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


@_styled
def class_by_sample_grid(
    images: Any,
    *,
    class_names: Sequence[str],
    title: str,
    xlabel: str = "latent sample",
    cmap: str = "gray",
    cell_size: float = 1.0,
) -> Figure:
    """A conditional VAE's class x latent-sample grid: one row per class, one column per z.

    ``images`` has shape (n_classes, n_samples, H, W), with an optional trailing channel
    axis of 1 (or 3 for RGB); ``images[k, j]`` is the decoder's image for class k and latent
    sample j. Rows are labelled with ``class_names`` and columns numbered 1..n_samples.
    When column j uses the same z for every class, the columns show what the latent code
    keeps (e.g. stroke width, slant) once the class is given.
    """
    _require_title(title)
    arr = np.asarray(images)
    if arr.ndim not in (4, 5):
        raise ValueError(
            "images must have shape (n_classes, n_samples, H, W) or (n_classes, n_samples, H, "
            f"W, 1); got shape {arr.shape}. Stack one row of decoded images per class, e.g. "
            "np.stack([decode(z, k) for k in range(n_classes)])."
        )
    n_classes, n_samples = arr.shape[:2]
    if len(class_names) != n_classes:
        raise ValueError(
            f"images has {n_classes} rows (classes) but {len(class_names)} class names were "
            "given; they must match"
        )
    flat = _as_images(arr.reshape(n_classes * n_samples, *arr.shape[2:]), what="images[k, j]")
    cells: list[list[np.ndarray | None]] = [
        list(flat[k * n_samples : (k + 1) * n_samples]) for k in range(n_classes)
    ]
    return _draw_labelled_grid(
        cells,
        title=title,
        row_labels=[str(c) for c in class_names],
        xlabel=xlabel,
        column_labels=[str(j + 1) for j in range(n_samples)],
        cmap=cmap,
        cell_size=cell_size,
    )
