"""LabelFraction: a seeded, deterministic fraction of a dataset."""
import pytest
from mmengine.dataset import BaseDataset

from facessl.datasets import LabelFraction


class _Numbers(BaseDataset):
    """N records {'n': i}, no files."""

    def __init__(self, n):
        self.n = n
        super().__init__(serialize_data=False)

    def load_data_list(self):
        return [dict(n=i) for i in range(self.n)]


def test_fraction_selects_the_right_count_deterministically():
    data = _Numbers(50)
    a = LabelFraction(data, fraction=0.1, seed=3)
    b = LabelFraction(data, fraction=0.1, seed=3)
    c = LabelFraction(data, fraction=0.1, seed=4)
    assert len(a) == 5
    picked = [a[i]['n'] for i in range(len(a))]
    assert picked == [b[i]['n'] for i in range(len(b))]
    assert picked == sorted(picked) and len(set(picked)) == 5
    assert picked != [c[i]['n'] for i in range(len(c))]
    assert len(LabelFraction(data, fraction=0.25)) == 12  # round(12.5)
    assert len(LabelFraction(data, fraction=0.001)) == 1  # at least one
    full = LabelFraction(data, fraction=1.)
    assert [full[i]['n'] for i in range(50)] == list(range(50))


def test_bad_fraction_is_an_error():
    with pytest.raises(ValueError, match='fraction must be in'):
        LabelFraction(_Numbers(3), fraction=0.)
