"""A training loop checked in a few steps: what each call of the step function received, and a replay of it.

A lab's last exercise often asks for the whole loop around an earlier exercise's step: build the players,
initialise them, give each its optimiser, draw fresh batches, call the step, return the trained model. Judging
that loop by what a long run produces costs every submission tens of seconds of training. A test checks it in a
few steps instead:

1. the loop runs a few steps with a recording stand-in under the step's name (``course.trusted.recorded_dcgan_step``,
   lent with :func:`course.judging.built_on`), which notes what each call received and then takes the kit's step;
2. :func:`recorded_training`, run where the student's code runs (:func:`course.judging.in_kernel`), returns that
   log and the weights of the model the loop returned, as plain data;
3. the test checks the log against the exercise's prescriptions (its optimisers, its batches, its initialisation)
   and replays the same steps from the same initial weights with trusted code (:func:`replay_alternating_steps`): the model
   the loop returned must hold exactly the replay's weights.

A loop that passes is the reference loop up to its choice of random numbers, and the reference loop's quality is
measured once, by the kit's own tests, rather than once per submission.

The log lives in the student's process, like every rule checked there: a student set on it can forge it. The
replay is the judge's own computation all the same, so a forged log must describe steps that really produce the
returned weights.
"""

from __future__ import annotations

import torch
from torch import nn

from course.autoencoders import VAE
from course.gan import alternating_step
from course.language import tr
from course.repro import single_cpu_thread

_calls: list[dict] = []  # one entry per call of a recording stand-in, since recorded_training last cleared it
_players: list[nn.Module] = []  # the modules the first recorded call trained, to name what the loop returns
_stop_after: list[int] = []  # while first_calls runs: the number of calls after which the training is stopped


class StopTraining(BaseException):
    """Raised by a recording stand-in once :func:`first_calls` has the calls it asked for. A BaseException, like
    KeyboardInterrupt, so that a loop's ``except Exception`` lets it through."""


def state_values(module: nn.Module) -> list[torch.Tensor]:
    """Copies of a module's parameters and buffers, in ``state_dict`` order."""
    return [value.detach().clone() for value in module.state_dict().values()]


def describe_optimizer(optimizer, players) -> dict:
    """What a step was handed as an optimiser, as plain data: its class, learning rate and betas (of its first
    parameter group), its number of groups, and which of ``players`` owns exactly its parameters (-1: none)."""
    groups = getattr(optimizer, "param_groups", None) or [{}]
    held = {id(parameter) for group in groups for parameter in group.get("params", [])}
    owner = next((index for index, player in enumerate(players)
                  if held and held == {id(parameter) for parameter in player.parameters()}), -1)
    lr = groups[0].get("lr")
    betas = groups[0].get("betas")
    return {"type": type(optimizer).__name__, "lr": float(lr) if isinstance(lr, (int, float)) else None,
            "betas": [float(beta) for beta in betas] if isinstance(betas, (tuple, list)) else None,
            "groups": len(groups), "owner": owner}


def note_call(players: list[nn.Module], optimizers: list, tensors: dict[str, torch.Tensor]) -> None:
    """Keep what one call of a step received: its players' weights before the first call, which players (by their
    order in the first call), each optimiser's description, and copies of its batches."""
    if not _calls:
        _players[:] = players
    _calls.append({
        "initial": [state_values(player) for player in players] if not _calls else None,
        "players": [next((index for index, first in enumerate(_players) if first is player), -1) for player in players],
        "optimizers": [describe_optimizer(optimizer, players) for optimizer in optimizers],
        "tensors": {name: torch.as_tensor(value).detach().clone() for name, value in tensors.items()},
    })
    if _stop_after and len(_calls) >= _stop_after[0]:
        raise StopTraining(f"stopped after {len(_calls)} recorded calls")


def _start_log() -> None:
    _calls.clear()
    _players.clear()


def recorded_training(train, *args, **kwargs) -> dict:
    """``train(*args, **kwargs)`` with a fresh log: ``{"calls": [...], "returned": weights of what it returned (None
    when that is no module), "returned_player": which player of the first call it is (-1: none), "value": what it
    returned when that is no module (a list of losses, say)}``."""
    _start_log()
    returned = train(*args, **kwargs)
    is_module = isinstance(returned, nn.Module)
    return {"calls": list(_calls), "returned": state_values(returned) if is_module else None,
            "returned_player": next((index for index, player in enumerate(_players) if player is returned), -1),
            "value": None if is_module else returned}


def first_calls(count: int, train, *args, **kwargs) -> list[dict]:
    """The log of the first ``count`` recorded calls of ``train(*args, **kwargs)``, which is stopped there: two runs
    of a training loop that takes no number of steps are compared by their first steps (fewer if it ends sooner)."""
    _start_log()
    _stop_after[:] = [count]
    try:
        train(*args, **kwargs)
    except StopTraining:
        pass
    finally:
        _stop_after.clear()
    return list(_calls)


def load_in_order(module: nn.Module, values: list[torch.Tensor], name: str) -> nn.Module:
    """``module`` loaded with ``values`` in its ``state_dict`` order; an AssertionError names ``name`` if the shapes
    differ from the module's (the loop did not build the prescribed stack)."""
    expected = module.state_dict()
    shapes = [tuple(value.shape) for value in values]
    expected_shapes = [tuple(value.shape) for value in expected.values()]
    assert shapes == expected_shapes, tr("the {name}'s weights and statistics have the shapes {shapes}, expected "
                                         "those of the prescribed stack {expected}").format(
        name=name, shapes=shapes, expected=expected_shapes)
    module.load_state_dict(dict(zip(expected, values)))
    return module


def replay_alternating_steps(log: dict, generator: nn.Module, discriminator: nn.Module,
                             betas: tuple[float, float] = (0.5, 0.999)) -> list[torch.Tensor]:
    """The generator's weights after the log's steps, replayed with trusted code: ``generator`` and ``discriminator``
    (fresh modules of the prescribed classes) loaded with the first call's initial weights, an Adam with ``betas`` for
    each, and at every call course.gan.alternating_step (k = 1) on its real batch and noise, at the learning rate
    each optimiser had then (a test checks those against the exercise first).

    It runs on one CPU thread, as the labs' loops do (``on_one_cpu_thread``), so that sums come out in the same order
    and the weights agree to the last bit.
    """
    initial_g, initial_d = log["calls"][0]["initial"]
    load_in_order(generator, initial_g, "generator")
    load_in_order(discriminator, initial_d, "discriminator")
    g_optimizer = torch.optim.Adam(generator.parameters(), betas=betas)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), betas=betas)
    with single_cpu_thread(torch.device("cpu")):
        for call in log["calls"]:
            for optimizer, described in zip((g_optimizer, d_optimizer), call["optimizers"]):
                optimizer.param_groups[0]["lr"] = described["lr"]
            batches = call["tensors"]
            alternating_step(generator, discriminator, g_optimizer, d_optimizer, [batches["real"]],
                             [batches["d_noise"]], batches["g_noise"])
    return state_values(generator)


class RecordedVAE(VAE):
    """course.autoencoders.VAE that notes every call made with autograd on (a training step's forward): its input
    batch and its eps. A test lends it to a student's training loop in place of the VAE."""

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if torch.is_grad_enabled():
            note_call([self], [], {"x": x, "eps": eps})
        return super().forward(x, eps)


def replay_vae(log: dict, model: VAE, lr: float, loss) -> VAE:
    """``model`` (a fresh VAE of the lent one's sizes) loaded with the first call's initial weights, then trained as
    the log says: at each call, Adam at ``lr`` on ``loss(x, x_hat, mu, logvar)[0]`` of that call's batch and eps. It runs
    on one CPU thread, as the lab's loop does, so that the weights agree to the last bit."""
    load_in_order(model, log["calls"][0]["initial"][0], "VAE")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    with single_cpu_thread(torch.device("cpu")):
        for call in log["calls"]:
            x, eps = call["tensors"]["x"], call["tensors"]["eps"]
            value = loss(x, *model(x, eps))[0]
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
    return model
