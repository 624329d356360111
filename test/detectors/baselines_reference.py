"""Reference scores for nadir's classical baselines (test/detectors/*_test.ts).

Reads the training and test matrices nadir used (raw little-endian float64,
row-major), fits the reference on the training rows, scores the test rows and
writes the scores (float64) to --out. Prints one JSON line with facts about the
fit (library versions, chosen sizes).

- lof, ocsvm, pca: scikit-learn (LocalOutlierFactor(novelty=True),
  OneClassSVM with the RBF kernel, PCA with the full SVD).
- hbos, ecod, copod: the published definitions written out with numpy here
  (PyOD is not a dependency), with the conventions docs/detectors.md states.

For lof, --mask gets one byte per test row: 1 when the row's score cannot
depend on how ties between equal distances are broken (neither the row nor any
of its neighbours has its k-th and (k+1)-th distances within 1e-9 relative),
0 otherwise. scikit-learn keeps exactly k neighbours and nadir keeps all tied
ones, so scores are compared row by row only where the mask is 1.
"""
import argparse
import json

import numpy as np


def load(path, d):
    return np.fromfile(path, dtype="<f8").reshape(-1, d)


def dists(a, b):
    """Euclidean distances computed from differences (no cancellation, unlike the dot-product form)."""
    from scipy.spatial.distance import cdist

    return cdist(a, b, "euclidean")


def tie_free(sorted_d, k):
    """True where the k-th and (k+1)-th smallest distances of a row differ by more than 1e-9 relative."""
    kth, nxt = sorted_d[:, k - 1], sorted_d[:, k]
    return (nxt - kth) > 1e-9 * np.maximum(kth, 1e-300)


def lof(xtr, xte, a, info):
    from sklearn.neighbors import LocalOutlierFactor

    est = LocalOutlierFactor(n_neighbors=a.k, novelty=True, algorithm="brute").fit(xtr)
    scores = -est.score_samples(xte)
    k = a.k
    dtr = dists(xtr, xtr)
    np.fill_diagonal(dtr, np.inf)  # a training row's neighbours exclude itself
    dtr_sorted = np.sort(dtr, axis=1)
    train_ok = tie_free(dtr_sorted, k)
    dte = dists(xte, xtr)
    dte_sorted = np.sort(dte, axis=1)
    ok = tie_free(dte_sorted, k)
    # Every training row within the query's k-th distance (all candidates for its neighbours) must be tie-free.
    within = dte <= dte_sorted[:, k - 1:k] * (1 + 1e-9)
    ok &= ~np.any(within & ~train_ok[None, :], axis=1)
    info["tie_free_rows"] = int(ok.sum())
    return scores, ok.astype(np.uint8)


def ocsvm(xtr, xte, a, info):
    from sklearn.svm import OneClassSVM

    gamma = a.gamma if a.gamma == "scale" else float(a.gamma)
    est = OneClassSVM(kernel="rbf", nu=a.nu, gamma=gamma, tol=a.tol).fit(xtr)
    info["support_vectors"] = int(est.support_.shape[0])
    info["gamma"] = float(est._gamma)
    # nadir scores rho - sum(alpha K) with alpha normalised to sum 1; libsvm's alpha sums to nu * m.
    return -est.decision_function(xte) / (a.nu * xtr.shape[0]), None


def pca(xtr, xte, a, info):
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    if a.standardize:
        sc = StandardScaler().fit(xtr)
        scale = np.where(sc.scale_ > 0, sc.scale_, 1.0)
        xtr = (xtr - sc.mean_) / scale
        xte = (xte - sc.mean_) / scale
    kept = float(a.components) if "." in a.components else int(a.components)
    est = PCA(n_components=kept, svd_solver="full").fit(xtr)
    info["components"] = int(est.n_components_)
    recon = est.inverse_transform(est.transform(xte))
    info["explained"] = float(est.explained_variance_ratio_.sum())
    return np.sum((xte - recon) ** 2, axis=1), None


def hbos(xtr, xte, a, info):
    """Goldstein & Dengel 2012, static bins: sum over features of log(max count / count)."""
    bins = a.bins
    lo, hi = xtr.min(axis=0), xtr.max(axis=0)
    scores = np.zeros(xte.shape[0])

    def bin_of(v, j):
        inside = (v >= lo[j]) & (v <= hi[j])
        if hi[j] == lo[j]:
            b = np.zeros(v.shape[0], dtype=np.int64)
        else:
            b = np.floor((v - lo[j]) / ((hi[j] - lo[j]) / bins)).astype(np.int64)
            b = np.minimum(b, bins - 1)
        return np.where(inside, b, -1)

    for j in range(xtr.shape[1]):
        counts = np.bincount(bin_of(xtr[:, j], j), minlength=bins).astype(float)
        top = counts.max()
        per_bin = np.log(top / np.maximum(counts, a.empty))
        b = bin_of(xte[:, j], j)
        scores += np.where(b >= 0, per_bin[np.maximum(b, 0)], np.log(top / a.empty))
    return scores, None


def tails(xtr, xte):
    """-log left/right tail probabilities of each test value, the ECDF taken over the
    training column plus the scored value itself (ECOD/COPOD's ECDF over train + the row)."""
    n = xtr.shape[0]
    u = np.empty(xte.shape)
    v = np.empty(xte.shape)
    for j in range(xtr.shape[1]):
        col = np.sort(xtr[:, j])
        at_or_below = np.searchsorted(col, xte[:, j], side="right")
        at_or_above = n - np.searchsorted(col, xte[:, j], side="left")
        u[:, j] = -np.log((at_or_below + 1) / (n + 1))
        v[:, j] = -np.log((at_or_above + 1) / (n + 1))
    return u, v


def skewness(xtr):
    """Biased sample skewness per column (scipy.stats.skew's default); constant columns and
    |g| <= 1e-9 count as 0."""
    out = np.zeros(xtr.shape[1])
    for j in range(xtr.shape[1]):
        c = xtr[:, j]
        if c.min() == c.max():
            continue
        t = c - c.mean()
        m2, m3 = np.mean(t * t), np.mean(t * t * t)
        g = m3 / m2 ** 1.5
        out[j] = 0.0 if abs(g) <= 1e-9 else g
    return out


def ecod(xtr, xte, a, info):
    """Li et al. 2022, Algorithm 1: max of the left, right and skewness-chosen tail sums."""
    u, v = tails(xtr, xte)
    w = np.where(skewness(xtr)[None, :] < 0, u, v)
    return np.maximum(np.maximum(u.sum(axis=1), v.sum(axis=1)), w.sum(axis=1)), None


def copod(xtr, xte, a, info):
    """Li et al. 2020: per feature max(skewness-chosen tail, mean of both tails), summed (the
    authors' released aggregation); --combine paper gives Algorithm 1's max of sums."""
    u, v = tails(xtr, xte)
    w = np.where(skewness(xtr)[None, :] < 0, u, v)
    if a.combine == "paper":
        return np.maximum(np.maximum(u.sum(axis=1), v.sum(axis=1)), w.sum(axis=1)), None
    return np.maximum(w, (u + v) / 2).sum(axis=1), None


METHODS = {"lof": lof, "ocsvm": ocsvm, "pca": pca, "hbos": hbos, "ecod": ecod, "copod": copod}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("method", choices=sorted(METHODS))
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--d", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--mask")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--nu", type=float, default=0.5)
    p.add_argument("--gamma", default="scale", help='a number, or "scale" (1 / (d * X.var()))')
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--components", default="1", help="components kept, or a variance share in (0, 1)")
    p.add_argument("--standardize", action="store_true")
    p.add_argument("--bins", type=int, default=10)
    p.add_argument("--empty", type=float, default=0.5)
    p.add_argument("--combine", default="dimension")
    a = p.parse_args()
    xtr, xte = load(a.train, a.d), load(a.test, a.d)
    import sklearn

    info = {"method": a.method, "sklearn": sklearn.__version__, "numpy": np.__version__}
    scores, mask = METHODS[a.method](xtr, xte, a, info)
    np.asarray(scores, dtype="<f8").tofile(a.out)
    if mask is not None and a.mask:
        mask.tofile(a.mask)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
