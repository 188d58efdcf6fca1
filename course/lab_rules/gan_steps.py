"""What the GAN-step tests of labs 05 and 06 build alike: twin players that one step of the student's and one of
the reference's train from the same weights, and the count of the gradients that reached G."""

from __future__ import annotations

import copy

import torch

from course.dcgan import count_output_gradients


def two_copies(make_players, make_optimizer, seed: int) -> list:
    """(G, D, G's optimiser, D's optimiser) twice, the same weights: the players ``make_players()`` builds after
    ``torch.manual_seed(seed)`` and copies of them, each with ``make_optimizer(parameters)``; the first G counts the
    gradients it receives (:func:`gradients_received`)."""
    torch.manual_seed(seed)
    generator, discriminator = make_players()
    copies = []
    for G, D in [(generator, discriminator), (copy.deepcopy(generator), copy.deepcopy(discriminator))]:
        copies.append((G, D, make_optimizer(G.parameters()), make_optimizer(D.parameters())))
    generator.register_buffer("gradients_received", torch.zeros((), dtype=torch.long))
    generator.register_forward_hook(count_output_gradients)
    return copies


def gradients_received(G) -> int:
    """How many gradients reached G's output since the last call (course.dcgan.count_output_gradients)."""
    count = int(G.gradients_received)
    G.gradients_received.zero_()
    return count


def all_weights(G, D) -> torch.Tensor:
    """Every parameter of G, then of D, flattened into one detached vector."""
    return torch.cat([p.detach().flatten() for p in [*G.parameters(), *D.parameters()]])
