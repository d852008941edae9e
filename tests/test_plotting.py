"""Plots render with the Agg backend and draw what they promise (checked on the artists)."""
import matplotlib
import numpy as np
import pandas as pd
import pytest

import mtreg

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    frames = []
    for k in range(5):
        X = rng.standard_normal((30, 4))
        frames.append(pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(
            y=X[:, 0] * (1 + k) + rng.standard_normal(30), task=f"t{k}"))
    df = pd.concat(frames, ignore_index=True)
    return mtreg.fit("y ~ a + b + c + d", task="task", data=df, penalty="lasso", alpha_frac=0.2)


def test_plot_coef_is_a_heat_map_of_params(fitted):
    ax = fitted.plot_coef()
    images = ax.get_images()
    assert len(images) == 1
    np.testing.assert_allclose(np.asarray(images[0].get_array()), fitted.params.to_numpy())


def test_plot_support_shows_the_support_and_counts(fitted):
    ax = fitted.plot_support()
    img = np.asarray(ax.get_images()[0].get_array())
    np.testing.assert_array_equal(img, fitted.support().table.to_numpy(dtype=float))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    counts = fitted.support().table.sum(axis=1)
    assert labels[0] == f"a ({int(counts['a'])})"


def test_plot_residuals_one_panel_per_task(fitted):
    fig = fitted.plot_residuals()
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 5
    offsets = visible[2].collections[0].get_offsets()
    task = fitted.resid.index[fitted.model.design.row_index[fitted.model.design.task_ptr[2]]]
    assert len(offsets) == 30 and task is not None
    np.testing.assert_allclose(np.sort(offsets[:, 1]),
                               np.sort(fitted.resid.to_numpy()[60:90]), atol=1e-12)
    with pytest.raises(ValueError, match="unknown task"):
        fitted.plot_residuals(tasks=["nope"])


def test_cluster_plots_need_a_clustering_model(fitted):
    with pytest.raises(ValueError, match="learns no task clusters"):
        fitted.plot_clusters()
    with pytest.raises(ValueError, match="learns no task clusters"):
        fitted.clusters()


@pytest.mark.parametrize("support", ["shared", "groups", "dirty", "independent"])
def test_simulate_multitask_structure_and_snr(support):
    from mtreg.simulate import simulate_multitask

    data, coef = simulate_multitask(6, [40, 60, 50, 40, 40, 45], 12, support=support, n_relevant=3,
                                    n_groups=2, snr=1e6, seed=1)
    assert list(coef.columns) == sorted(data.task.unique())
    assert data.groupby("task").size().tolist() == [40, 60, 50, 40, 40, 45]
    nz = coef.to_numpy() != 0
    if support == "shared":
        assert nz.any(axis=1).sum() == 3 and np.all(nz[nz.any(axis=1)])
    elif support == "groups":
        assert len({tuple(col) for col in nz.T}) <= 2
    elif support == "dirty":
        assert np.all(nz.sum(axis=0) == 4)
    # with a huge snr, least squares per task recovers coef
    for t, g in data.groupby("task"):
        X = g[coef.index].to_numpy()
        w = np.linalg.lstsq(X, g.y.to_numpy(), rcond=None)[0]
        np.testing.assert_allclose(w, coef[t].to_numpy(), atol=1e-2)
