"""tinygrad_rnn.utils.data: datasets, samplers, DataLoader and collation behave as
torch.utils.data does (a live comparison of batching orders and split sizes runs when PyTorch is
installed)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.utils.data import (BatchSampler, DataLoader, Dataset, RandomSampler,
                                     SequentialSampler, Subset, TensorDataset, default_collate,
                                     random_split)


class Squares(Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return np.array([i, i * i], dtype=np.float32), i, float(i) / 2, f"s{i}"


def test_tensor_dataset_and_sequential_loader() -> None:
    X = np.arange(14.0).reshape(7, 2)
    y = np.arange(7)
    ds = TensorDataset(X, y)
    assert len(ds) == 7
    x3, y3 = ds[3]
    np.testing.assert_array_equal(x3.data, [6.0, 7.0])
    assert y3.item() == 3 and y3.dtype == np.int64
    batches = list(DataLoader(ds, batch_size=3))
    assert [b[0].shape for b in batches] == [(3, 2), (3, 2), (1, 2)]
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)
    assert len(DataLoader(ds, batch_size=3)) == 3
    dropped = DataLoader(ds, batch_size=3, drop_last=True)
    assert len(dropped) == 2 and [b[1].shape for b in dropped] == [(3,), (3,)]
    with pytest.raises(ValueError, match="TensorDataset: the tensors must have the same length"):
        TensorDataset(X, np.arange(6))


def test_default_collation_of_arrays_numbers_strings_tuples_dicts() -> None:
    xs, ints, floats, names = next(iter(DataLoader(Squares(5), batch_size=4)))
    assert isinstance(xs, Tensor) and xs.shape == (4, 2) and xs.dtype == np.float32
    assert ints.dtype == np.int64
    np.testing.assert_array_equal(ints.data, [0, 1, 2, 3])
    assert floats.dtype == np.float64
    assert names == ["s0", "s1", "s2", "s3"]
    d = default_collate([{"a": 1, "b": np.zeros(2)}, {"a": 2, "b": np.ones(2)}])
    assert d["a"].data.tolist() == [1, 2] and d["b"].shape == (2, 2)
    t = default_collate([Tensor(np.ones(3), requires_grad=True), Tensor(np.zeros(3))])
    assert t.shape == (2, 3) and t.requires_grad  # stacked through the graph
    with pytest.raises(TypeError, match="default_collate: cannot batch examples of type object"):
        default_collate([object()])


def test_shuffle_is_a_permutation_and_generator_reproduces_it() -> None:
    ds = TensorDataset(np.arange(20))

    def order(gen):
        loader = DataLoader(ds, batch_size=6, shuffle=True, generator=gen)
        return np.concatenate([b[0].data for b in loader]).tolist()

    a = order(tg.Generator().manual_seed(3))
    assert sorted(a) == list(range(20)) and a != list(range(20))
    assert order(tg.Generator().manual_seed(3)) == a
    loader = DataLoader(ds, batch_size=20, shuffle=True, generator=tg.Generator().manual_seed(3))
    first, second = (next(iter(loader))[0].data.tolist() for _ in range(2))
    assert first != second  # a new order at every pass
    tg.manual_seed(9)
    b = order(None)
    tg.manual_seed(9)
    assert order(None) == b  # without a generator: the library's, fixed by manual_seed


def test_samplers() -> None:
    ds = list(range(10))
    assert list(SequentialSampler(ds)) == ds
    rs = RandomSampler(ds, generator=tg.Generator().manual_seed(0))
    assert sorted(rs) == ds and len(rs) == 10
    rep = list(RandomSampler(ds, replacement=True, num_samples=25,
                             generator=tg.Generator().manual_seed(0)))
    assert len(rep) == 25 and set(rep) <= set(ds)
    assert list(BatchSampler(range(5), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    loader = DataLoader(ds, batch_size=4, sampler=[9, 8, 7, 6, 5])
    assert [b.data.tolist() for b in loader] == [[9, 8, 7, 6], [5]]
    single = DataLoader(ds, batch_size=None)
    assert list(single) == ds  # batch_size=None: examples one by one, not collated
    with pytest.raises(ValueError, match="DataLoader: give either shuffle=True or a sampler"):
        DataLoader(ds, shuffle=True, sampler=[0])
    with pytest.raises(ValueError, match="DataLoader: batch_size must be >= 1"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="DataLoader: batch_size must be an integer"):
        DataLoader(ds, batch_size="4")
    with pytest.raises(TypeError, match="RandomSampler: generator must be"):
        RandomSampler(ds, generator=3)


def test_random_split_counts_fractions_and_generator() -> None:
    ds = list(range(10))
    a, b = random_split(ds, [7, 3], generator=tg.Generator().manual_seed(1))
    assert isinstance(a, Subset) and (len(a), len(b)) == (7, 3)
    assert sorted(list(a) + list(b)) == ds
    parts = random_split(ds, [0.34, 0.33, 0.33], generator=tg.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [4, 3, 3]  # floor, then the remainder dealt in order
    again = random_split(ds, [0.34, 0.33, 0.33], generator=tg.Generator().manual_seed(1))
    assert [list(p) for p in parts] == [list(p) for p in again]
    with pytest.raises(ValueError, match="random_split: lengths must be counts"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="random_split: lengths must be counts"):
        random_split(ds, [0.5, 0.6])


def test_generator_manual_seed_checks() -> None:
    g = tg.Generator()
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    state = g.get_state()
    x = g.rng.random()
    g.set_state(state)
    assert g.rng.random() == x
    with pytest.raises(TypeError, match="Generator.manual_seed: seed must be an integer"):
        g.manual_seed("5")
    with pytest.raises(ValueError, match="Generator: device 'cuda'"):
        tg.Generator("cuda")


def test_split_sizes_and_batch_counts_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils import data as tdata
    for n, fracs in ((10, [0.34, 0.33, 0.33]), (7, [0.5, 0.5]), (101, [0.8, 0.1, 0.1])):
        ours = [len(p) for p in random_split(list(range(n)), fracs)]
        theirs = [len(p) for p in tdata.random_split(list(range(n)), fracs,
                                                     generator=torch.Generator().manual_seed(0))]
        assert ours == theirs
    for n, bs, drop in ((10, 3, False), (10, 3, True), (9, 3, True), (1, 5, False)):
        ds = list(range(n))
        ours = [b.data.tolist() for b in DataLoader(ds, batch_size=bs, drop_last=drop)]
        theirs = [b.tolist() for b in tdata.DataLoader(ds, batch_size=bs, drop_last=drop)]
        assert ours == theirs
