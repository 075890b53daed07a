"""Adam, for the networks this package trains in numpy (the distilled stage 2 and the
recurrent network): minibatch steps from one seed, so the same data gives the same
weights, which scikit-learn's MLP cannot promise for soft targets or sequences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The moment decays and epsilon, as in scikit-learn and PyTorch.
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


class Adam:
    """Updates ``params`` (float32 arrays) in place, the learning rate decaying linearly
    from ``learning_rate`` to 0 over ``steps`` steps."""

    def __init__(self, params: Sequence[np.ndarray], learning_rate: float, steps: int):
        self.params = list(params)
        self.learning_rate = learning_rate
        self.steps = steps
        self.done = 0
        self.first = [np.zeros_like(q) for q in self.params]
        self.second = [np.zeros_like(q) for q in self.params]

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.done += 1
        t = self.done
        rate = np.float32(self.learning_rate * (1.0 - (t - 1) / self.steps)
                          * np.sqrt(1.0 - BETA2**t) / (1.0 - BETA1**t))
        for q, g, m, v in zip(self.params, grads, self.first, self.second):
            m *= np.float32(BETA1)
            m += np.float32(1.0 - BETA1) * g
            v *= np.float32(BETA2)
            v += np.float32(1.0 - BETA2) * g * g
            q -= rate * m / (np.sqrt(v) + np.float32(EPS))
