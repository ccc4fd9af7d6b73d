"""Learning fusion weights from accepted and rejected recommendations."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping

import numpy as np

from matchmaker.scoring import COMPONENTS, DEFAULT_WEIGHTS, FusionWeights


def learn_weights(examples: Iterable[tuple[Mapping[str, float], int]], min_examples: int = 30,
                  default: FusionWeights = DEFAULT_WEIGHTS) -> FusionWeights:
    """Fit a logistic regression on (components, accepted 0/1) and return non-negative normalised weights."""
    examples = list(examples)
    if len(examples) < min_examples:
        return default
    labels = np.array([int(label) for _, label in examples])
    if len(set(labels.tolist())) < 2:
        return default
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 - only the feedback job needs it

    x = np.array([[float(c.get(name, 0.0)) for name in COMPONENTS] for c, _ in examples], dtype=np.float64)
    # Standardise so coefficients compare across components of different spread, then map back.
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x - x.mean(axis=0)) / scale, labels)
    coef = np.maximum(model.coef_[0] / scale, 0.0)
    if coef.sum() <= 0:
        return default
    # Shrink toward the defaults: feedback is sparse and noisy early on.
    prior = np.array([default.as_dict()[n] for n in COMPONENTS])
    trust = len(examples) / (len(examples) + 100.0)
    learned = coef / coef.sum()
    mixed = (1 - trust) * prior / prior.sum() + trust * learned
    mixed = mixed / mixed.sum()
    return replace(default, **dict(zip(COMPONENTS, map(float, mixed))))
