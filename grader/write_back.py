"""What a call of the student's code changed in the judge's arguments, written back from the kernel's reply: the
gradients it left, and, when the test lets the call train, the parameters, buffers and optimiser state of what the
judge lent it (grader.remote reads the reply; this module decides what may be copied)."""

from __future__ import annotations

import torch

from course import wire


def write_back(original, node, decoder, training: bool) -> None:
    """Put back into the judge's arguments the gradients the call left, and, when the test lets the call train
    (:func:`course.judging.lets_train`), the parameters and buffers of lent modules and the state of lent
    optimisers; a lent tensor's data stays as the judge lent it."""
    if node is None:
        return
    try:
        if isinstance(original, torch.Tensor):
            _copy_gradient(original, decoder.value(node, 0))
        elif isinstance(original, torch.nn.Module) and isinstance(node, dict) and "module" in node:
            tensors = dict([*original.named_parameters(), *original.named_buffers()])
            for name, tensor_node in node["module"]:
                if name in tensors:
                    _copy_tensor(tensors[name], decoder.value(tensor_node, 0), training)
        elif isinstance(original, torch.optim.Optimizer) and isinstance(node, dict) and "optimizer" in node:
            if training:
                _load_optimizer_state(original, decoder.value(node["optimizer"], 0))
        elif isinstance(original, (list, tuple, dict)) and isinstance(node, dict) and "items" in node:
            values = original.values() if isinstance(original, dict) else original
            for value, item in zip(values, node["items"]):
                write_back(value, item, decoder, training)
    except (wire.NotAnAnswer, ValueError, TypeError, KeyError, RuntimeError):
        pass  # what cannot be copied back stays as the judge lent it


def _copy_tensor(original: torch.Tensor, after, training: bool) -> None:
    """A module's parameter or buffer as the call left it, when it kept its shape and dtype and the call may train."""
    if (training and isinstance(after, torch.Tensor) and after.shape == original.shape
            and after.dtype == original.dtype):
        with torch.no_grad():
            original.copy_(after)
    _copy_gradient(original, after)


def _load_optimizer_state(original: torch.optim.Optimizer, after) -> None:
    """The per-parameter state (moments, step counts) the call left; the learning rate and the other settings
    stay the judge's, and state that is not plain numbers and tensors is refused."""
    state = after.get("state") if isinstance(after, dict) else None
    if not isinstance(state, dict) or not all(
            isinstance(entry, dict) and all(isinstance(value, (torch.Tensor, int, float, bool))
                                            for value in entry.values())
            for entry in state.values()):
        raise TypeError("an optimiser state holds only numbers and tensors")
    original.load_state_dict({"state": state, "param_groups": original.state_dict()["param_groups"]})


def _copy_gradient(original: torch.Tensor, after) -> None:
    if not isinstance(after, torch.Tensor) or not (original.requires_grad or original.grad is not None):
        return
    gradient = after.grad
    if gradient is None or (gradient.shape == original.shape and gradient.dtype == original.dtype):
        original.grad = gradient
