"""Optimizers: SGD (momentum, Nesterov, weight decay), Adam (amsgrad), AdamW, Adagrad, RMSprop;
learning-rate schedules in `optim.lr_scheduler`.

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

from tinygrad_rnn.checks import flag
from tinygrad_rnn.kernels.adam import adam_update
from tinygrad_rnn.kernels.core import by_size
from tinygrad_rnn.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop"]


class Optimizer:
    """Base class: parameter groups, per-parameter state, step and checkpoints.

    params: an iterable of tensors (`model.parameters()`), or of dicts
    `{"params": [...], "lr": ..., ...}` (parameter groups: each group's own hyper-parameters
    override the constructor's). `opt.param_groups` is the list of these dicts, as in PyTorch:
    change `group["lr"]` to change the learning rate (the schedulers in `optim.lr_scheduler` do).

    Subclasses set `hyperparameter_names`, check values in `_validate(hyper)` and define
    `_update(p, grad, state, group)`, which changes `p.data` in place and keeps its running
    buffers in the dict `state` (arrays, plus an int "step" where the algorithm counts steps).
    """

    hyperparameter_names: tuple[str, ...] = ()
    required_state: tuple[str, ...] = ()  # what every non-empty per-parameter state holds
    extra_group_keys = ("initial_lr", "max_lr", "min_lr", "max_momentum",
                        "base_momentum")  # set by the learning-rate schedulers

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of tensors "
                            "(e.g. model.parameters()), not a single Tensor")
        try:
            items = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of tensors or of parameter-group "
                            f"dicts, got {type(params).__name__}") from None
        if not items:
            raise ValueError(f"{name}: got an empty parameter list")
        if any(isinstance(g, dict) for g in items):
            if not all(isinstance(g, dict) for g in items):
                raise TypeError(f"{name}: params mixes tensors and parameter-group dicts")
            groups = items
        else:
            groups = [{"params": items}]
        self.defaults = self._validate(dict(defaults))
        self.param_groups: list[dict[str, Any]] = []
        self.state: list[dict[str, Any]] = []  # one dict per parameter, in `params` order
        for group in groups:
            self.add_param_group(group)

    @property
    def params(self) -> list[Tensor]:
        """Every parameter of every group, in order (the index `state_dict` uses)."""
        return [p for group in self.param_groups for p in group["params"]]

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group {"params": tensors, hyper-parameter: value, ...}; missing
        hyper-parameters take the constructor's values."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}.add_param_group: a group must be a dict with a 'params' "
                            f"entry, got {type(group).__name__}")
        unknown = sorted(set(group) - {"params", *self.hyperparameter_names,
                                       *self.extra_group_keys})
        if unknown:
            raise ValueError(f"{name}: unknown hyper-parameters {unknown} in a parameter group "
                             f"(known: {list(self.hyperparameter_names)})")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: a parameter group has an empty parameter list")
        seen = {id(p) for p in self.params}
        start = len(self.state)
        for i, p in enumerate(params, start=start):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf or p.dtype.kind != "f":
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) must be a floating "
                                 "leaf tensor (requires_grad=True; not the result of an op)")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) appears twice in the "
                                 "parameter list")
            seen.add(id(p))
        hyper = {k: v for k, v in group.items() if k != "params"}
        extra = {k: hyper.pop(k) for k in self.extra_group_keys if k in hyper}
        checked = self._validate({**self.defaults, **hyper})
        self.param_groups.append({"params": params, **checked, **extra})
        self.state.extend({} for _ in params)

    def _validate(self, hyper: dict[str, Any]) -> dict[str, Any]:
        """The hyper-parameters checked and normalised (subclasses check their own)."""
        return hyper

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's `.grad` to None (so the next backward starts afresh);
        set_to_none=False fills the existing gradients with zeros instead."""
        set_to_none = flag(set_to_none, f"{type(self).__name__}.zero_grad", "set_to_none")
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros_like(p.grad)

    def step(self, closure: Any = None) -> Any:
        """Apply one update to every parameter that has a gradient. closure, if given, is
        called first (it re-evaluates the model and returns the loss), and its loss returned.
        Every gradient is checked before any parameter is updated, so a bad one (wrong shape)
        raises ValueError with the parameters and optimizer state unchanged."""
        loss = closure() if closure is not None else None
        for p, grad, state, group in self._checked_grads():
            if not p.data.flags.writeable:  # e.g. a broadcast view: give it its own array
                p.data = p.data.copy()
            self._update(p, grad, state, group)
            bump = getattr(p, "_bump_version", None)
            if bump is not None:
                bump()
        return loss

    def _checked_grads(self) -> list[tuple[Tensor, np.ndarray, dict[str, Any], dict[str, Any]]]:
        """(param, grad in the param's dtype, state, group) for each parameter with a grad,
        all checked first; raises ValueError (naming the parameter) without changing anything."""
        out = []
        pairs = [(p, group) for group in self.param_groups for p in group["params"]]
        for i, ((p, group), state) in enumerate(zip(pairs, self.state)):
            if p.grad is None:
                continue
            grad = np.asarray(p.grad)
            if grad.dtype.kind not in "biuf":  # complex would lose its imaginary part
                raise TypeError(f"{type(self).__name__}.step: parameter {i}'s grad must hold "
                                f"real numbers, got dtype {grad.dtype}")
            grad = grad.astype(p.data.dtype, copy=False)
            if grad.shape != p.data.shape:
                raise ValueError(f"{type(self).__name__}.step: parameter {i} has shape "
                                 f"{p.shape} but its grad has shape {grad.shape}")
            out.append((p, grad, state, group))
        return out

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        raise NotImplementedError

    # ----- checkpoints ---------------------------------------------------------------
    def hyperparameters(self) -> dict[str, Any]:
        """The first group's hyper-parameters as plain Python values, e.g. {"lr": 0.1, ...}."""
        return {k: _plain(self.param_groups[0][k]) for k in self.hyperparameter_names}

    def state_dict(self) -> dict[str, Any]:
        """{"type": class name, "state": {index: {name: value}}, "param_groups": [...]}, the
        layout of PyTorch's optimizer state dicts plus the type.

        `state` is keyed by the parameter's index in `params` (all groups, in order); the
        buffers are copies (ndarrays), step counts are ints; parameters that never had a
        gradient have no entry. Each group is its hyper-parameters (plain Python values) and
        "params", the list of its parameters' indices.
        """
        state = {i: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for i, s in enumerate(self.state) if s}
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append({**{k: _plain(v) for k, v in group.items() if k != "params"},
                           "params": list(range(start, start + n))})
            start += n
        return {"type": type(self).__name__, "state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict()` returned (hyper-parameters, step counts and buffers).

        Everything is checked before anything is assigned: a wrong optimizer type, groups that
        do not match this optimizer's, bad hyper-parameters, a parameter index out of range, an
        unknown buffer, a buffer of the wrong shape or not of real numbers, a step count that is
        not a whole number >= 0. Every problem is listed in one ValueError, and then nothing
        has been changed. (A state dict with one "hyperparameters" dict instead of
        "param_groups", the older form, applies it to every group.)
        """
        self._assign_state_dict(self._checked_state_dict(state_dict))

    def _checked_state_dict(self, state_dict: Any) -> tuple[list[dict], list[dict]]:
        """(new group hyper-parameters, new per-parameter state) for load_state_dict, all
        checked; raises (one ValueError listing every problem) without changing anything."""
        name = type(self).__name__
        problems: list[str] = []
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got "
                            f"{type(state_dict).__name__}")
        kind = state_dict.get("type", name)
        if kind != name:
            problems.append(f"the state is for {kind}, this optimizer is {name}")
        new_groups = self._checked_groups(state_dict, problems)
        new_state = self._checked_state(state_dict.get("state", {}), problems)
        if problems:
            raise ValueError(f"{name}.load_state_dict: " + "; ".join(problems))
        return new_groups, new_state

    def _assign_state_dict(self, checked: tuple[list[dict], list[dict]]) -> None:
        """Assign what _checked_state_dict returned (cannot fail)."""
        new_groups, new_state = checked
        for group, hyper in zip(self.param_groups, new_groups):
            group.update(hyper)
        self.state = new_state

    def _checked_groups(self, state_dict: dict[str, Any],
                        problems: list[str]) -> list[dict[str, Any]]:
        """Each group's new hyper-parameters, validated (problems appended, nothing changed)."""
        if "param_groups" in state_dict:
            saved = state_dict["param_groups"]
            if not isinstance(saved, (list, tuple)) or len(saved) != len(self.param_groups):
                n = len(saved) if isinstance(saved, (list, tuple)) else type(saved).__name__
                problems.append(f"the state has {n} parameter groups, this optimizer has "
                                f"{len(self.param_groups)}")
                return []
        else:
            saved = [dict(state_dict.get("hyperparameters", {}))] * len(self.param_groups)
        out = []
        for k, (group, entry) in enumerate(zip(self.param_groups, saved)):
            if not isinstance(entry, dict):
                problems.append(f"group {k} is a {type(entry).__name__}, not a dict")
                continue
            hyper = {key: v for key, v in entry.items() if key != "params"}
            if "params" in entry and len(entry["params"]) != len(group["params"]):
                problems.append(f"group {k} has {len(entry['params'])} parameters in the state, "
                                f"{len(group['params'])} here")
            unknown = sorted(set(hyper) - {*self.hyperparameter_names, *self.extra_group_keys})
            if unknown:
                problems.append(f"unknown hyper-parameters {unknown}")
                continue
            extra = {key: hyper.pop(key) for key in self.extra_group_keys if key in hyper}
            current = {key: group[key] for key in self.hyperparameter_names}
            try:
                out.append({**self._validate({**current, **hyper}), **extra})
            except (TypeError, ValueError) as err:
                problems.append(f"bad hyper-parameters ({err})")
        return out

    def _checked_state(self, saved: Any, problems: list[str]) -> list[dict[str, Any]]:
        """The per-parameter state, validated and copied (problems appended)."""
        name = type(self).__name__
        params = self.params
        new_state: list[dict[str, Any]] = [{} for _ in params]
        if not isinstance(saved, dict):
            problems.append(f"state is a {type(saved).__name__}, not a dict")
            return new_state
        for key, entry in saved.items():
            try:
                i = int(key)
            except (TypeError, ValueError):
                problems.append(f"state key {key!r} is not a parameter index")
                continue
            if not 0 <= i < len(params):
                problems.append(f"state for parameter {i}, but there are {len(params)}")
                continue
            p = params[i]
            if not isinstance(entry, dict):
                problems.append(f"parameter {i}: state is a {type(entry).__name__}, not a dict")
                continue
            for buf, value in entry.items():
                arr = np.asarray(value)
                if buf not in self.buffer_names() and buf != "step":
                    problems.append(f"parameter {i}: unknown buffer {buf!r} for {name}")
                elif buf == "step":
                    if (arr.shape != () or arr.dtype.kind not in "iuf" or not np.isfinite(arr)
                            or arr != int(arr) or arr < 0):
                        problems.append(f"parameter {i}: step must be a whole number >= 0, got "
                                        f"{value!r}")
                    else:
                        new_state[i]["step"] = int(arr)
                elif arr.dtype.kind not in "biuf":
                    problems.append(f"parameter {i}: buffer {buf!r} must hold real numbers, got "
                                    f"dtype {arr.dtype}")
                elif arr.shape != p.shape:
                    problems.append(f"parameter {i}: buffer {buf!r} has shape {arr.shape}, "
                                    f"the parameter has shape {p.shape}")
                else:
                    new_state[i][buf] = arr.astype(p.dtype, copy=True)
            missing = [k for k in self.required_state if entry and k not in entry]
            if missing:
                problems.append(f"parameter {i}: state lacks {missing}")
        return new_state

    def buffer_names(self) -> tuple[str, ...]:
        """Names of the per-parameter arrays this optimizer keeps (e.g. "exp_avg")."""
        return ()

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for k, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {k} ({len(group['params'])} parameters)")
            lines += [f"    {key}: {group[key]!r}" for key in group if key != "params"]
        return "\n".join(lines) + "\n)"


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
    if isinstance(value, (str, bytes)):  # float("0.1") would accept a string silently
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
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

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False,
                 dampening: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _validate(self, h: dict[str, Any]) -> dict[str, Any]:
        out = {k: _check("SGD", k, h[k]) for k in ("lr", "momentum", "dampening", "weight_decay")}
        out["nesterov"] = flag(h["nesterov"], "SGD", "nesterov")
        if out["nesterov"] and (out["momentum"] <= 0 or out["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0 "
                             f"(got momentum={h['momentum']}, dampening={h['dampening']})")
        return out

    def buffer_names(self) -> tuple[str, ...]:
        """SGD keeps one "momentum_buffer" per parameter (only when momentum > 0)."""
        return ("momentum_buffer",)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data  # d/dp of (wd/2) |p|^2
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1.0 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * grad


def _betas(owner: str, betas: Any) -> tuple[float, float]:
    try:
        pair = tuple(betas)
    except TypeError:
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}") from None
    if len(pair) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    return (_check(owner, "beta1", pair[0], 0.0, 1.0, high_open=True),
            _check(owner, "beta2", pair[1], 0.0, 1.0, high_open=True))


class Adam(Optimizer):
    """Adam (Kingma & Ba), as PyTorch computes it. At step t, for each parameter:

        g = grad + weight_decay * p               (L2 penalty added to the gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v)                     (amsgrad=True only; then v_max replaces v)
        p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    eps is added after the bias-corrected square root, as in PyTorch.
    """

    hyperparameter_names = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    required_state = ("step", "exp_avg", "exp_avg_sq")
    decoupled = False  # AdamW: weight decay shrinks p directly instead of adding to g

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))
        self._coef_key: tuple | None = None  # the coefficients of the last update, reused
        self._coef = np.empty(0)

    def _validate(self, h: dict[str, Any]) -> dict[str, Any]:
        name = type(self).__name__
        return {"lr": _check(name, "lr", h["lr"]), "betas": _betas(name, h["betas"]),
                "eps": _check(name, "eps", h["eps"]),
                "weight_decay": _check(name, "weight_decay", h["weight_decay"]),
                "amsgrad": flag(h["amsgrad"], name, "amsgrad")}

    def buffer_names(self) -> tuple[str, ...]:
        """Adam keeps "exp_avg" (m) and "exp_avg_sq" (v) per parameter, plus a step count
        (and "max_exp_avg_sq" with amsgrad)."""
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, eps, wd, amsgrad = group["lr"], group["eps"], group["weight_decay"], group["amsgrad"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        data = p.data  # m and v have its dtype, and so has grad (see step)
        if wd and self.decoupled:
            data *= 1.0 - lr * wd  # AdamW: p = p - lr * wd * p, before the Adam step
        elif wd:
            grad = grad + wd * data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        key = (t, data.dtype, lr, beta1, beta2, eps)
        if self._coef_key != key:  # the same for every parameter at the same step
            step_size = lr / (1.0 - beta1 ** t)
            self._coef = np.array([1.0 - beta1, beta2, 1.0 - beta2, step_size,
                                   math.sqrt(1.0 - beta2 ** t), eps], dtype=data.dtype)
            self._coef_key = key
        coef = self._coef
        if amsgrad:
            a1, b2, a2, step_size, root, eps_ = coef
            m += a1 * (grad - m)
            v *= b2
            v += a2 * (grad * grad)
            v_max = state["max_exp_avg_sq"]
            np.maximum(v_max, v, out=v_max)
            data -= step_size * (m / (np.sqrt(v_max) / root + eps_))
        elif (data.dtype.char in "fd" and data.flags.c_contiguous and grad.flags.c_contiguous
                and m.flags.c_contiguous and v.flags.c_contiguous):
            by_size(adam_update, data.size)(data, grad, m, v, coef)  # one pass (compiled)
        else:
            adam_update.twin(data, grad, m, v, coef)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW: each step
    first shrinks p by lr * weight_decay * p, then takes the Adam step without any L2 term in
    the gradient. weight_decay defaults to 0.01, as in PyTorch."""

    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class Adagrad(Optimizer):
    """Adagrad: each coordinate's step shrinks with its accumulated squared gradients.

        g = grad + weight_decay * p
        s = s + g^2                               (s starts at initial_accumulator_value)
        p = p - lr_t * g / (sqrt(s) + eps),       lr_t = lr / (1 + (t - 1) * lr_decay)
    """

    hyperparameter_names = ("lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value")
    required_state = ("step", "sum")

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value))

    def _validate(self, h: dict[str, Any]) -> dict[str, Any]:
        return {k: _check("Adagrad", k, h[k]) for k in self.hyperparameter_names}

    def buffer_names(self) -> tuple[str, ...]:
        """Adagrad keeps "sum" (the accumulated squared gradients) and a step count."""
        return ("sum",)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            state.update(step=0, sum=np.full_like(p.data, group["initial_accumulator_value"]))
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        lr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += grad * grad
        p.data -= lr * (grad / (np.sqrt(s) + group["eps"]))


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

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _validate(self, h: dict[str, Any]) -> dict[str, Any]:
        out = {k: _check("RMSprop", k, h[k]) for k in ("lr", "eps", "weight_decay", "momentum")}
        out["alpha"] = _check("RMSprop", "alpha", h["alpha"], 0.0, 1.0)
        out["centered"] = flag(h["centered"], "RMSprop", "centered")
        return out

    def buffer_names(self) -> tuple[str, ...]:
        """RMSprop keeps "square_avg", plus "grad_avg" (centered) and "momentum_buffer"."""
        return ("square_avg", "grad_avg", "momentum_buffer")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        alpha, eps = group["alpha"], group["eps"]
        if not state:
            state.update(step=0, square_avg=np.zeros_like(p.data))
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        v = state["square_avg"]
        v *= alpha
        v += (1.0 - alpha) * (grad * grad)
        if group["centered"]:
            a = state.setdefault("grad_avg", np.zeros_like(p.data))
            a += (1.0 - alpha) * (grad - a)
            denom = np.sqrt(v - a * a) + eps
        else:
            denom = np.sqrt(v) + eps
        if group["momentum"] > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p.data))
            buf *= group["momentum"]
            buf += grad / denom
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * (grad / denom)
