"""Optimizers: SGD (momentum, Nesterov, weight decay), Adam, Adagrad and RMSprop.

Each follows PyTorch's algorithm step for step (same order of operations, same placement of
eps), so a run here and a run in PyTorch from the same weights and gradients agree to rounding.
Updates are made in place in each parameter's own dtype (`p.data -= ...`), so a float32 model
stays float32 and any tensor sharing the array (e.g. `p.detach()`) sees the new values.
Parameters whose `.grad` is None are skipped, and their state (step count, moments) is not
advanced, as in PyTorch.

>>> import tinygrad_rnn as tg
>>> from tinygrad_rnn import nn, optim
>>> w = nn.Parameter([1.0, -2.0])
>>> opt = optim.SGD([w], lr=0.1)
>>> (w * w).sum().backward()       # dL/dw = 2w
>>> opt.step(); w.data
array([ 0.8, -1.6], dtype=float32)
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from tinygrad_rnn.kernels.adam import adam_update
from tinygrad_rnn.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "Adagrad", "RMSprop"]


class Optimizer:
    """Base class: holds the parameter list, per-parameter state and the hyper-parameters.

    Subclasses set `hyperparameter_names` and define `_update(p, grad, state)`, which changes
    `p.data` in place and keeps its running buffers in the dict `state` (arrays, plus an int
    "step" where the algorithm counts steps).
    """

    hyperparameter_names: tuple[str, ...] = ()
    required_state: tuple[str, ...] = ()  # what every non-empty per-parameter state holds

    def __init__(self, params: Iterable[Tensor]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of tensors "
                            "(e.g. model.parameters()), not a single Tensor")
        self.params: list[Tensor] = list(params)
        name = type(self).__name__
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.requires_grad or not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) must be a leaf tensor "
                                 "with requires_grad=True")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) appears twice in the "
                                 "parameter list")
            seen.add(id(p))
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to None (so the next backward starts afresh)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        for i, (p, state) in enumerate(zip(self.params, self.state)):
            if p.grad is None:
                continue
            data = p.data
            grad = np.asarray(p.grad, dtype=data.dtype)
            if grad.shape != data.shape:
                raise ValueError(f"{type(self).__name__}.step: parameter {i} has shape {p.shape} "
                                 f"but its grad has shape {grad.shape}")
            if not data.flags.writeable:  # e.g. a broadcast view: give it its own array
                p.data = data.copy()
            self._update(p, grad, state)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    # ----- checkpoints ---------------------------------------------------------------
    def hyperparameters(self) -> dict[str, Any]:
        """The hyper-parameters as plain Python values, e.g. {"lr": 0.1, "momentum": 0.9}."""
        return {k: _plain(getattr(self, k)) for k in self.hyperparameter_names}

    def state_dict(self) -> dict[str, Any]:
        """{"type": class name, "hyperparameters": {...}, "state": {index: {name: value}}}.

        `state` is keyed by the parameter's index in the list given to the constructor; the
        buffers are copies (ndarrays), step counts are ints. Parameters that never had a
        gradient have no entry.
        """
        state = {i: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for i, s in enumerate(self.state) if s}
        return {"type": type(self).__name__, "hyperparameters": self.hyperparameters(),
                "state": state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict()` returned (hyper-parameters, step counts and buffers).

        Every problem (wrong optimizer type, parameter index out of range, unknown buffer name,
        buffer shape not matching its parameter) is listed in one ValueError, and then nothing
        has been changed.
        """
        name = type(self).__name__
        problems = []
        kind = state_dict.get("type", name)
        if kind != name:
            problems.append(f"the state is for {kind}, this optimizer is {name}")
        hyper = dict(state_dict.get("hyperparameters", {}))
        unknown = sorted(set(hyper) - set(self.hyperparameter_names))
        checked = None
        if unknown:
            problems.append(f"unknown hyper-parameters {unknown}")
        else:
            try:  # the constructor validates the values
                checked = type(self)(self.params, **{**self.hyperparameters(), **hyper})
            except (TypeError, ValueError) as err:
                problems.append(f"bad hyper-parameters ({err})")
        new_state: list[dict[str, Any]] = [{} for _ in self.params]
        for key, entry in dict(state_dict.get("state", {})).items():
            try:
                i = int(key)
            except (TypeError, ValueError):
                problems.append(f"state key {key!r} is not a parameter index")
                continue
            if not 0 <= i < len(self.params):
                problems.append(f"state for parameter {i}, but there are {len(self.params)}")
                continue
            p = self.params[i]
            if not isinstance(entry, dict):
                problems.append(f"parameter {i}: state is a {type(entry).__name__}, not a dict")
                continue
            for buf, value in entry.items():
                if buf not in self.buffer_names() and buf != "step":
                    problems.append(f"parameter {i}: unknown buffer {buf!r} for {name}")
                elif buf == "step":
                    step = np.asarray(value)
                    if step.shape != () or step.dtype.kind not in "iuf" or step != int(step):
                        problems.append(f"parameter {i}: step must be a whole number, got "
                                        f"{value!r}")
                    else:
                        new_state[i]["step"] = int(step)
                else:
                    arr = np.asarray(value)
                    if arr.shape != p.shape:
                        problems.append(f"parameter {i}: buffer {buf!r} has shape {arr.shape}, "
                                        f"the parameter has shape {p.shape}")
                    else:
                        new_state[i][buf] = arr.astype(p.dtype, copy=True)
            missing = [k for k in self.required_state if entry and k not in entry]
            if missing:
                problems.append(f"parameter {i}: state lacks {missing}")
        if problems:
            raise ValueError(f"{name}.load_state_dict: " + "; ".join(problems))
        if checked is not None:
            for k in self.hyperparameter_names:
                setattr(self, k, getattr(checked, k))
        self.state = new_state

    def buffer_names(self) -> tuple[str, ...]:
        """Names of the per-parameter arrays this optimizer keeps (e.g. "exp_avg")."""
        return ()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {args})"


def _plain(value: Any) -> Any:
    """A hyper-parameter as a JSON-friendly Python value."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return float(value) if isinstance(value, (int, float, np.number)) else value


def _check(owner: str, name: str, value: float, low: float = 0.0, high: float | None = None,
           high_open: bool = False) -> float:
    """Validate one hyper-parameter: a finite number in [low, high] (or [low, high))."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}") from None
    too_high = high is not None and (v >= high if high_open else v > high)
    if not math.isfinite(v) or v < low or too_high:
        bound = "" if high is None else (f", {high})" if high_open else f", {high}]")
        interval = f"[{low}{bound}" if high is not None else f">= {low}"
        raise ValueError(f"{owner}: invalid {name} {value!r} (must be in {interval})")
    return v


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 weight
    decay (PyTorch's formulation):

        g = grad + weight_decay * p
        b = g                                     at the first step (with momentum)
        b = momentum * b + (1 - dampening) * g    afterwards
        g = g + momentum * b  (nesterov)   or   g = b  (plain momentum)
        p = p - lr * g
    """

    hyperparameter_names = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False,
                 dampening: float = 0.0) -> None:
        super().__init__(params)
        self.lr = _check("SGD", "lr", lr)
        self.momentum = _check("SGD", "momentum", momentum)
        self.weight_decay = _check("SGD", "weight_decay", weight_decay)
        self.dampening = _check("SGD", "dampening", dampening)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0 "
                             f"(got momentum={momentum}, dampening={dampening})")

    def buffer_names(self) -> tuple[str, ...]:
        """SGD keeps one "momentum_buffer" per parameter (only when momentum > 0)."""
        return ("momentum_buffer",)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data  # d/dp of (wd/2) |p|^2
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        p.data -= self.lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba), as PyTorch computes it. At step t, for each parameter:

        g = grad + weight_decay * p               (L2 penalty added to the gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    eps is added after the bias-corrected square root, as in PyTorch.
    """

    hyperparameter_names = ("lr", "betas", "eps", "weight_decay")
    required_state = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params)
        self.lr = _check("Adam", "lr", lr)
        if len(tuple(betas)) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check("Adam", "beta1", betas[0], 0.0, 1.0, high_open=True),
                      _check("Adam", "beta2", betas[1], 0.0, 1.0, high_open=True))
        self.eps = _check("Adam", "eps", eps)
        self.weight_decay = _check("Adam", "weight_decay", weight_decay)
        self._coef_key: tuple | None = None  # the coefficients of the last update, reused
        self._coef = np.empty(0)

    def buffer_names(self) -> tuple[str, ...]:
        """Adam keeps "exp_avg" (m) and "exp_avg_sq" (v) per parameter, plus a step count."""
        return ("exp_avg", "exp_avg_sq")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        beta1, beta2 = self.betas
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
        state["step"] += 1
        t = state["step"]
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        data = p.data  # m and v have its dtype, and so has grad (see step)
        key = (t, data.dtype, self.lr, beta1, beta2, self.eps)
        if self._coef_key != key:  # the same for every parameter at the same step
            step_size = self.lr / (1.0 - beta1 ** t)
            self._coef = np.array([1.0 - beta1, beta2, 1.0 - beta2, step_size,
                                   math.sqrt(1.0 - beta2 ** t), self.eps], dtype=data.dtype)
            self._coef_key = key
        coef = self._coef
        if (data.flags.c_contiguous and grad.flags.c_contiguous and m.flags.c_contiguous
                and v.flags.c_contiguous):
            adam_update(data, grad, m, v, coef)  # one pass (compiled on the numba backend)
        else:
            adam_update.twin(data, grad, m, v, coef)


class Adagrad(Optimizer):
    """Adagrad: each coordinate's step shrinks with its accumulated squared gradients.

        g = grad + weight_decay * p
        s = s + g^2                               (s starts at initial_accumulator_value)
        p = p - lr * g / (sqrt(s) + eps)
    """

    hyperparameter_names = ("lr", "eps", "weight_decay", "initial_accumulator_value")
    required_state = ("step", "sum")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, eps: float = 1e-10,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0) -> None:
        super().__init__(params)
        self.lr = _check("Adagrad", "lr", lr)
        self.eps = _check("Adagrad", "eps", eps)
        self.weight_decay = _check("Adagrad", "weight_decay", weight_decay)
        self.initial_accumulator_value = _check("Adagrad", "initial_accumulator_value",
                                                initial_accumulator_value)

    def buffer_names(self) -> tuple[str, ...]:
        """Adagrad keeps "sum" (the accumulated squared gradients) and a step count."""
        return ("sum",)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        if not state:
            state.update(step=0, sum=np.full_like(p.data, self.initial_accumulator_value))
        state["step"] += 1
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        s = state["sum"]
        s += grad * grad
        p.data -= self.lr * (grad / (np.sqrt(s) + self.eps))


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), as PyTorch computes it:

        g = grad + weight_decay * p
        v = alpha * v + (1 - alpha) * g^2
        a = alpha * a + (1 - alpha) * g, and v - a^2 in place of v   (centered=True only)
        d = sqrt(v) + eps
        b = momentum * b + g / d ;  p = p - lr * b     (momentum > 0)
        p = p - lr * g / d                             (momentum = 0)
    """

    hyperparameter_names = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")
    required_state = ("step", "square_avg")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params)
        self.lr = _check("RMSprop", "lr", lr)
        self.alpha = _check("RMSprop", "alpha", alpha, 0.0, 1.0)
        self.eps = _check("RMSprop", "eps", eps)
        self.weight_decay = _check("RMSprop", "weight_decay", weight_decay)
        self.momentum = _check("RMSprop", "momentum", momentum)
        self.centered = bool(centered)

    def buffer_names(self) -> tuple[str, ...]:
        """RMSprop keeps "square_avg", plus "grad_avg" (centered) and "momentum_buffer"."""
        return ("square_avg", "grad_avg", "momentum_buffer")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any]) -> None:
        if not state:
            state.update(step=0, square_avg=np.zeros_like(p.data))
        state["step"] += 1
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        v = state["square_avg"]
        v *= self.alpha
        v += (1.0 - self.alpha) * (grad * grad)
        if self.centered:
            a = state.setdefault("grad_avg", np.zeros_like(p.data))
            a += (1.0 - self.alpha) * (grad - a)
            denom = np.sqrt(v - a * a) + self.eps
        else:
            denom = np.sqrt(v) + self.eps
        if self.momentum > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p.data))
            buf *= self.momentum
            buf += grad / denom
            p.data -= self.lr * buf
        else:
            p.data -= self.lr * (grad / denom)
