"""Sparse helpers of the lexical signal."""

from __future__ import annotations

import numpy as np

from matchmaker.lexical import range_positions


def test_range_positions_lays_ranges_end_to_end():
    starts, lengths = np.array([5, 0, 9, 2]), np.array([3, 0, 1, 2])
    expected = [p for s, n in zip(starts, lengths) for p in range(s, s + n)]
    assert range_positions(starts, lengths).tolist() == expected == [5, 6, 7, 9, 2, 3]
    assert range_positions(np.array([], int), np.array([], int)).tolist() == []
