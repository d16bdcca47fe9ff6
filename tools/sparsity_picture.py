"""Draw docs/img/sparsity-laplacian.png: the sparsity pattern that
adjoint.sparsity detects for a 5-point Laplacian on a 12 x 12 grid, with
matplotlib's spy, for docs/sparse.md.

    PYTHONPATH=. python tools/sparsity_picture.py
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import adjoint  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "docs", "img", "sparsity-laplacian.png")


def laplacian(u):
    grid = u.reshape(12, 12)
    padded = np.pad(grid, 1)
    out = (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
           - 4.0 * grid)
    return (out - grid ** 3).ravel()


def main():
    pattern = adjoint.sparsity(laplacian)(np.ones(144))
    figure, axes = plt.subplots(figsize=(4.2, 4.2), dpi=100)
    axes.spy(pattern, markersize=1.5, color="#2a5d8f")
    axes.set_title(f"5-point Laplacian, 12 x 12 grid: {pattern.nnz} non-zeros", fontsize=9)
    axes.tick_params(labelsize=7)
    figure.tight_layout()
    figure.savefig(OUT, metadata={"Software": None})
    print(f"wrote {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
