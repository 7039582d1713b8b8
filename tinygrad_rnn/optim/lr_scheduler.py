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
import numbers
import types
from bisect import bisect_right
from collections import Counter
from typing import Any, Callable

from tinygrad_rnn.optim.optimizer import Optimizer, _check

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "LinearLR", "ExponentialLR",
           "CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau"]


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
        """Restore what `state_dict()` returned. Everything is checked first (unknown keys, and
        each value must be of the kind of the one it replaces: a whole number for a count, a
        list of as many entries, ...); a bad state_dict raises and changes nothing."""
        fn = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{fn}: expected a dict, got {type(state_dict).__name__}")
        unknown = sorted(set(state_dict) - set(vars(self)) - {"optimizer"}, key=str)
        if unknown:
            raise KeyError(f"{fn}: unknown keys {unknown}")
        new = {k: _like(v, vars(self)[k], k, fn) for k, v in state_dict.items()
               if k != "optimizer"}
        vars(self).update(new)


def _like(new: Any, old: Any, key: str, fn: str) -> Any:
    """`new`, checked to be of the kind of `old` (the value it replaces) and converted to it."""
    if isinstance(old, (bool, str)):
        ok = isinstance(new, type(old))
    elif isinstance(old, (int, float)):
        ok = isinstance(new, numbers.Real) and not isinstance(new, bool) and (
            isinstance(old, float) or float(new).is_integer())
        new = type(old)(new) if ok else new
    elif isinstance(old, (list, tuple)):
        ok = isinstance(new, (list, tuple))
        if ok and len(new) != len(old):
            raise ValueError(f"{fn}: {key} must have {len(old)} entries, got {new!r}")
        new = type(old)(_like(n, o, key, fn) for n, o in zip(new, old)) if ok else new
    else:
        ok = not isinstance(old, dict) or isinstance(new, dict)
    if not ok:
        kind = next(k for t, k in ((bool, "a bool"), (str, "a string"), (int, "a whole number"),
                                   (float, "a number"), (list, "a list"), (tuple, "a list"),
                                   (object, "a dict")) if isinstance(old, t))
        raise TypeError(f"{fn}: {key} must be {kind} (as {old!r}), got {new!r}")
    return new


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

    def lrs_at(self, epoch: int) -> list[float]:
        """Every group's learning rate at `epoch` (lr_at of each group's initial lr)."""
        return [self.lr_at(base, epoch) for base in self.base_lrs]

    def step(self) -> None:
        """Advance one epoch and set every group's lr."""
        lrs = self.lrs_at(self.last_epoch + 1)  # may raise: then nothing has changed
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch): a factor from your own function, one for all groups
    or a list with one per group (e.g. a warm-up `lambda e: min(1.0, (e + 1) / 5)`).

    As in PyTorch, state_dict() does not save plain functions and lambdas (their entry in
    "lr_lambdas" is None: build the scheduler with the same functions, then load); a callable
    object's attributes (its `__dict__`) are saved and restored.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list[Any],
                 last_epoch: int = -1) -> None:
        n = len(_optimizer(optimizer, "LambdaLR").param_groups)
        fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(fns) != n:
            raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter group), got "
                             f"{len(fns)}")
        bad = [f for f in fns if not callable(f)]
        if bad:
            raise TypeError(f"LambdaLR: lr_lambda must be a function or a list of functions, "
                            f"got {bad[0]!r}")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch: int) -> list[float]:
        """initial_lr * lr_lambda(epoch), group by group."""
        return [base * fn(epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self) -> dict[str, Any]:
        """As the base class, with "lr_lambdas": None for each function, or a callable
        object's attributes."""
        state = {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore state_dict(); the functions stay those given to the constructor."""
        saved = state_dict.get("lr_lambdas", [None] * len(self.lr_lambdas))
        if not isinstance(saved, (list, tuple)) or len(saved) != len(self.lr_lambdas) or any(
                a is not None and not isinstance(a, dict) for a in saved):
            raise ValueError(f"LambdaLR.load_state_dict: lr_lambdas must be a list of "
                             f"{len(self.lr_lambdas)} entries (None or a dict), got {saved!r}")
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "lr_lambdas"})
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                vars(fn).update(attrs)


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


class MultiStepLR(LRScheduler):
    """lr = initial_lr * gamma ** (number of milestones <= epoch): decay by gamma at each
    milestone epoch (a milestone given twice decays twice, as in PyTorch)."""

    def __init__(self, optimizer: Optimizer, milestones: Any, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        try:
            items = list(milestones)
        except TypeError:
            raise TypeError(f"MultiStepLR: milestones must be a list of epochs, got "
                            f"{milestones!r}") from None
        self.milestones = Counter(_count(m, "milestones", "MultiStepLR", 0) for m in items)
        self.gamma = _check("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """initial_lr * gamma ** (how many milestones are <= epoch)."""
        passed = sorted(m for m, n in self.milestones.items() for _ in range(n))
        return base_lr * self.gamma ** bisect_right(passed, epoch)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore state_dict() (milestones come back as a Counter, also from tg.load)."""
        if not isinstance(state_dict, dict):  # (the base class says so)
            return super().load_state_dict(state_dict)
        ms = state_dict.get("milestones", self.milestones)
        try:
            ms = Counter({int(m): int(n) for m, n in dict(ms).items()})
        except (TypeError, ValueError):
            raise TypeError(f"MultiStepLR.load_state_dict: milestones must be a Counter of "
                            f"epochs, got {ms!r}") from None
        super().load_state_dict({**state_dict, "milestones": ms})


class LinearLR(LRScheduler):
    """lr = initial_lr * factor, the factor going linearly from start_factor (epoch 0) to
    end_factor (epoch total_iters and after): a warm-up when start_factor < end_factor."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        try:
            start = _check("LinearLR", "start_factor", start_factor, 0.0, 1.0)
        except ValueError:
            start = 0.0
        if start == 0.0:
            raise ValueError(f"LinearLR: invalid start_factor {start_factor!r} (must be in "
                             "(0, 1])")
        self.start_factor = start
        self.end_factor = _check("LinearLR", "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _count(total_iters, "total_iters", "LinearLR", 0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """initial_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)."""
        if self.total_iters == 0:  # PyTorch then keeps start_factor for ever
            return base_lr * self.start_factor
        done = min(self.total_iters, epoch) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * done)


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


def _per_group(value: Any, name: str, owner: str, n: int) -> list[float]:
    """One number for every group, or a list with one per group, each checked."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise ValueError(f"{owner}: expected {n} values for {name} (one per parameter group), "
                         f"got {len(values)}")
    return [_check(owner, name, v) for v in values]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (PyTorch's): lr rises from max_lr / div_factor to max_lr over the
    first pct_start of total_steps, then anneals to initial_lr / final_div_factor (three_phase:
    back to the initial lr first, then down). The momentum (SGD, RMSprop) or beta1 (Adam)
    moves the opposite way between max_momentum and base_momentum. Call `step()` after every
    batch; total_steps (or epochs * steps_per_epoch) steps in all, one more is an error.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        name = "OneCycleLR"
        groups = _optimizer(optimizer, name).param_groups
        if total_steps is not None:
            self.total_steps = _count(total_steps, "total_steps", name, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_count(epochs, "epochs", name, 1)
                                * _count(steps_per_epoch, "steps_per_epoch", name, 1))
        else:
            raise ValueError(f"{name}: give total_steps, or epochs and steps_per_epoch")
        pct = _check(name, "pct_start", pct_start, 0.0, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        max_lrs = _per_group(max_lr, "max_lr", name, len(groups))
        div = _check(name, "div_factor", div_factor)
        final_div = _check(name, "final_div_factor", final_div_factor)
        if div == 0 or final_div == 0:
            raise ValueError(f"{name}: div_factor and final_div_factor must be > 0")
        self.cycle_momentum = bool(cycle_momentum)
        self.use_beta1 = "betas" in optimizer.defaults
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and not self.use_beta1:
                raise ValueError(f"{name}: cycle_momentum needs an optimizer with momentum or "
                                 f"betas, not {type(optimizer).__name__}")
            highs = _per_group(max_momentum, "max_momentum", name, len(groups))
            lows = _per_group(base_momentum, "base_momentum", name, len(groups))
        T = self.total_steps  # phases: (last step, lr from, lr to, momentum from, to)
        self.phases = [(pct * T - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum")]
        if three_phase:
            self.phases += [(2 * pct * T - 2, "max_lr", "initial_lr", "base_momentum",
                             "max_momentum"),
                            (T - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases += [(T - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        if last_epoch == -1:
            for k, group in enumerate(groups):
                group.update(initial_lr=max_lrs[k] / div, max_lr=max_lrs[k],
                             min_lr=max_lrs[k] / div / final_div)
                if self.cycle_momentum:
                    self._set_momentum(group, highs[k])
                    group.update(max_momentum=highs[k], base_momentum=lows[k])
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def lrs_at(self, epoch: int) -> list[float]:
        """Each group's lr at step `epoch` (and, as a side effect as in PyTorch, its momentum)."""
        if epoch > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {epoch} times; total_steps is "
                             f"{self.total_steps}")
        start = 0.0
        for k, (end, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
            if epoch <= end or k == len(self.phases) - 1:
                pct = (epoch - start) / (end - start)
                break
            start = end
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
            if self.cycle_momentum:
                self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
        return lrs


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

