"""A function of another module that changes an object passed to it
(test_objects_held): it cannot be read in place of the call."""
import numpy as np


def step_elsewhere(state, x):
    state.h = np.tanh(state.W @ x + state.h)  # MARK: elsewhere
