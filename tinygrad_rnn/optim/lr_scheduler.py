"""Learning-rate schedules, as `torch.optim.lr_scheduler`: each changes the "lr" of every
parameter group of an optimizer when its `step()` is called (once per epoch, after
`optimizer.step()`).

>>> from tinygrad_rnn import nn, optim
>>> opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=1.0)
>>> sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(sched.get_last_lr()[0]); opt.step(); sched.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]

Schedules here compute each learning rate from the epoch count in closed form
(`initial_lr * gamma ** (epoch // step_size)`, ...), which equals PyTorch's values to rounding;
PyTorch updates the current value recursively, which differs only if something else changes
`group["lr"]` between steps.
"""

from __future__ import annotations

import math
from typing import Any

from tinygrad_rnn.optim.optimizer import Optimizer, _check

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"]


def _optimizer(optimizer: Any, owner: str) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: optimizer must be an optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    return optimizer


def _count(value: Any, name: str, owner: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not (
            isinstance(value, float) and value.is_integer()):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}")
    if int(value) < low:
        raise ValueError(f"{owner}: {name} must be >= {low}, got {value}")
    return int(value)


class _Schedule:
    """What every schedule shares: the last learning rates and its state."""

    optimizer: Optimizer
    _last_lr: list[float]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last `step()` set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The schedule's settings and progress (everything but the optimizer)."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict()` returned (unknown keys are an error; nothing changes)."""
        unknown = sorted(set(state_dict) - set(vars(self)) - {"optimizer"})
        if unknown:
            raise KeyError(f"{type(self).__name__}.load_state_dict: unknown keys {unknown}")
        vars(self).update({k: v for k, v in state_dict.items() if k != "optimizer"})


class LRScheduler(_Schedule):
    """Base class: remembers each group's initial lr (as group["initial_lr"]) and the epoch
    count `last_epoch`; subclasses define `lr_at(base_lr, epoch)`."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        self.optimizer = _optimizer(optimizer, name)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            missing = [k for k, g in enumerate(optimizer.param_groups) if "initial_lr" not in g]
            if missing:
                raise KeyError(f"{name}: last_epoch={last_epoch} needs 'initial_lr' in every "
                               f"parameter group (missing in groups {missing})")
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate at `epoch` for a group whose initial lr is base_lr."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set every group's lr."""
        self.last_epoch += 1
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base, self.last_epoch)
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size): decay by gamma every step_size epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = _count(step_size, "step_size", "StepLR", 1)
        self.gamma = _check("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """initial_lr * gamma ** (epoch // step_size)."""
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch: decay by gamma every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _check("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """initial_lr * gamma ** epoch."""
        return base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2: half a
    cosine from initial_lr down to eta_min over T_max epochs (then back up, as in PyTorch)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = _count(T_max, "T_max", "CosineAnnealingLR", 1)
        self.eta_min = _check("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The cosine between initial_lr and eta_min."""
        return self.eta_min + (base_lr - self.eta_min) * (
            1 + math.cos(math.pi * epoch / self.T_max)) / 2


class ReduceLROnPlateau(_Schedule):
    """Multiply every group's lr by `factor` when a metric has stopped improving for more than
    `patience` epochs (PyTorch's algorithm): call `step(metric)` once per epoch.

    mode "min" (lower is better) or "max"; an epoch improves when the metric beats the best so
    far by more than `threshold` (relative, threshold_mode "rel", or absolute, "abs"); after a
    reduction, `cooldown` epochs pass before counting again; lr never goes below min_lr (one
    number or one per group), and a change smaller than eps is not made.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0.0, eps: float = 1e-8) -> None:
        name = "ReduceLROnPlateau"
        self.optimizer = _optimizer(optimizer, name)
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.factor = _check(name, "factor", factor, 0.0, 1.0, high_open=True)
        self.patience = _count(patience, "patience", name, 0)
        self.cooldown = _count(cooldown, "cooldown", name, 0)
        self.threshold = _check(name, "threshold", threshold)
        self.eps = _check(name, "eps", eps)
        n = len(optimizer.param_groups)
        lows = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(lows) != n:
            raise ValueError(f"{name}: min_lr has {len(lows)} values for {n} parameter groups")
        self.min_lrs = [_check(name, "min_lr", v) for v in lows]
        self.mode, self.threshold_mode = mode, threshold_mode
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _better(self, current: float) -> bool:
        if self.mode == "min":
            edge = self.best * (1 - self.threshold) if self.threshold_mode == "rel" else \
                self.best - self.threshold
            return current < edge
        edge = self.best * (1 + self.threshold) if self.threshold_mode == "rel" else \
            self.best + self.threshold
        return current > edge

    def step(self, metrics: Any) -> None:
        """Record this epoch's metric (a number or a one-element tensor) and maybe reduce."""
        try:
            current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number, got "
                            f"{metrics!r}") from None
        self.last_epoch += 1
        if self._better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, low)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

