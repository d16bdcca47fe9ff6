"""`make demo`: differentiate an example, print its Jacobian and the
generated adjoint code."""
import numpy as np

import adjoint


def mlp(x, W1, b1, W2, b2):
    """A two-layer perceptron: 3 inputs, 4 hidden units, 2 outputs."""
    hidden = np.tanh(W1 @ x + b1)
    return W2 @ hidden + b2


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3)
    W1, b1 = rng.standard_normal((4, 3)), rng.standard_normal(4)
    W2, b2 = rng.standard_normal((2, 4)), rng.standard_normal(2)

    jacobian = adjoint.jacrev(mlp)(x, W1, b1, W2, b2)
    np.set_printoptions(precision=4, suppress=True)
    print("Jacobian of mlp with respect to x, shape", jacobian.shape)
    print(jacobian)
    print()
    print("Generated adjoint code (adjoint.source(mlp, argnums=(0, 1))):")
    print()
    print(adjoint.source(mlp, argnums=(0, 1)))


if __name__ == "__main__":
    main()
