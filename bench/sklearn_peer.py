"""scikit-learn peer for `deno task bench detectors`.

Reads the same preprocessed NSL-KDD matrices as nadir (raw float64, row-major,
written by bench/detectors.ts), fits each model on the benign training rows
and scores the test rows, and prints one JSON object per model:
{"model", "fit_s", "score_s", "rows", "checksum", "version"}. Hyperparameters are passed in so both
sides run the same model.
"""
import argparse
import json
import time

import numpy as np
import sklearn


def load(path, d):
    x = np.fromfile(path, dtype="<f8")
    return x.reshape(-1, d)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--d", type=int, required=True)
    p.add_argument("--models", default="isolation-forest,knn,kmeans,autoencoder")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--psi", type=int, default=256)
    p.add_argument("--clusters", type=int, default=8)
    p.add_argument("--kmeans-iter", type=int, default=300)
    p.add_argument("--kmeans-tol", type=float, default=1e-4)
    p.add_argument("--layers", default="64,32,64")
    p.add_argument("--activation", default="relu")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    xtr, xte = load(a.train, a.d), load(a.test, a.d)
    out = []
    for m in a.models.split(","):
        if m == "isolation-forest":
            from sklearn.ensemble import IsolationForest

            t = time.perf_counter()
            est = IsolationForest(n_estimators=a.trees, max_samples=min(a.psi, len(xtr)), random_state=a.seed).fit(xtr)
            fit = time.perf_counter() - t
            t = time.perf_counter()
            s = -est.score_samples(xte)
            score = time.perf_counter() - t
        elif m == "knn":
            from sklearn.neighbors import NearestNeighbors

            t = time.perf_counter()
            est = NearestNeighbors(n_neighbors=a.k).fit(xtr)
            fit = time.perf_counter() - t
            t = time.perf_counter()
            dist, _ = est.kneighbors(xte)
            s = dist[:, -1]
            score = time.perf_counter() - t
        elif m == "kmeans":
            from sklearn.cluster import KMeans

            t = time.perf_counter()
            est = KMeans(
                n_clusters=a.clusters, n_init=1, max_iter=a.kmeans_iter, tol=a.kmeans_tol,
                random_state=a.seed, algorithm="lloyd",
            ).fit(xtr)
            fit = time.perf_counter() - t
            t = time.perf_counter()
            s = est.transform(xte).min(axis=1)
            score = time.perf_counter() - t
        elif m == "autoencoder":
            from sklearn.neural_network import MLPRegressor

            layers = tuple(int(v) for v in a.layers.split(",") if v)
            t = time.perf_counter()
            est = MLPRegressor(
                hidden_layer_sizes=layers, activation=a.activation, solver="adam", learning_rate_init=a.lr,
                batch_size=a.batch, max_iter=a.epochs, shuffle=True, random_state=a.seed,
                early_stopping=False, tol=0.0, n_iter_no_change=a.epochs + 1,
            )
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(xtr, xtr)
            fit = time.perf_counter() - t
            t = time.perf_counter()
            r = est.predict(xte)
            s = ((r - xte) ** 2).mean(axis=1)
            score = time.perf_counter() - t
        else:
            continue
        out.append({
            "model": m, "fit_s": fit, "score_s": score, "rows": int(len(xte)), "checksum": float(np.sum(s)),
            "version": sklearn.__version__,
        })
    for o in out:
        print(json.dumps(o))


if __name__ == "__main__":
    main()
