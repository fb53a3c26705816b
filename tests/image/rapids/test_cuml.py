"""cuML: imports anywhere; on a GPU, KMeans and LogisticRegression agree with scikit-learn.

Tolerances: KMeans inertia within 1% of scikit-learn's on well-separated blobs (both find the
same clusters; only float rounding differs); LogisticRegression accuracy within 2 points (both
solve the same L2-regularised problem with different solvers).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

KMEANS_INERTIA_RTOL = 0.01
LOGREG_ACCURACY_ATOL = 0.02


def test_cuml_imports_without_a_gpu() -> None:
    import cuml

    assert cuml.__version__.split(".")[0].isdigit()


@pytest.mark.gpu
def test_kmeans_inertia_matches_scikit_learn() -> None:
    import cuml

    points, _ = make_blobs(n_samples=5_000, centers=6, n_features=8, random_state=0)
    points = points.astype(np.float32)
    expected = KMeans(n_clusters=6, n_init=10, random_state=0).fit(points)
    result = cuml.KMeans(n_clusters=6, n_init=10, random_state=0).fit(points)
    assert float(result.inertia_) == pytest.approx(expected.inertia_, rel=KMEANS_INERTIA_RTOL)


@pytest.mark.gpu
def test_logistic_regression_accuracy_matches_scikit_learn() -> None:
    import cuml

    features, labels = make_classification(
        n_samples=5_000, n_features=20, n_informative=10, random_state=0
    )
    x_train, x_test, y_train, y_test = train_test_split(
        features.astype(np.float32), labels.astype(np.float32), random_state=0
    )
    expected = LogisticRegression(max_iter=1_000).fit(x_train, y_train).score(x_test, y_test)
    model = cuml.LogisticRegression(max_iter=1_000).fit(x_train, y_train)
    accuracy = float((np.asarray(model.predict(x_test)) == y_test).mean())
    assert accuracy == pytest.approx(expected, abs=LOGREG_ACCURACY_ATOL)
