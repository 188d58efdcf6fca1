"""course.loop_record: the log a recording stand-in keeps, and replays that agree with a plain loop to the last bit."""

import pytest
import torch
import torch.nn.functional as F

from course import loop_record, trusted
from course.autoencoders import VAE
from course.gan import Discriminator, Generator, alternating_step
from course.gan.targets import gaussian_1d, sample_noise


def gan_loop(steps: int, seed: int = 0, lr: float = 2e-3, step_function=None):
    """A plain alternating-step loop on course.gan's players, with the recording gan_step (or ``step_function``)."""
    torch.manual_seed(seed)
    generator, discriminator = Generator(noise_dim=4), Discriminator()
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed + 1)
    step = step_function or trusted.recorded_gan_step
    for _ in range(steps):
        real = gaussian_1d().sample(16, generator=rng)
        step(generator, discriminator, g_optimizer, d_optimizer, real, sample_noise(16, 4, rng), sample_noise(16, 4, rng))
    return generator


def recorded_gan_loop(steps: int, **kwargs) -> dict:
    with trusted.lending([trusted.recorded_gan_step]):
        return loop_record.recorded_training(gan_loop, steps, **kwargs)


def test_the_log_holds_each_call_its_players_optimisers_and_copies_of_its_batches():
    log = recorded_gan_loop(3)
    assert len(log["calls"]) == 3 and log["returned_player"] == 0 and log["value"] is None
    first = log["calls"][0]
    assert [len(values) for values in first["initial"]] == [len(Generator(noise_dim=4).state_dict()),
                                                            len(Discriminator().state_dict())]
    assert all(call["initial"] is None for call in log["calls"][1:])
    assert all(call["players"] == [0, 1] for call in log["calls"])
    assert first["optimizers"] == [{"type": "Adam", "lr": 2e-3, "betas": [0.5, 0.999], "groups": 1, "owner": 0},
                                   {"type": "Adam", "lr": 2e-3, "betas": [0.5, 0.999], "groups": 1, "owner": 1}]
    assert set(first["tensors"]) == {"real", "d_noise", "g_noise"} and first["tensors"]["real"].shape == (16, 1)


def test_an_optimiser_over_the_other_players_parameters_has_the_other_owner():
    def swapped(generator, discriminator, g_optimizer, d_optimizer, *batches):
        return trusted.recorded_gan_step(generator, discriminator, d_optimizer, g_optimizer, *batches)

    with trusted.lending([trusted.recorded_gan_step]):
        log = loop_record.recorded_training(gan_loop, 1, step_function=swapped)
    assert [described["owner"] for described in log["calls"][0]["optimizers"]] == [1, 0]


def test_the_replay_gives_the_weights_of_the_loop_exactly():
    log = recorded_gan_loop(4)
    replayed = loop_record.replay_alternating_steps(log, Generator(noise_dim=4), Discriminator())
    assert all(torch.equal(got, expected) for got, expected in zip(log["returned"], replayed))


def test_the_replay_differs_from_a_loop_with_another_optimiser():
    log = recorded_gan_loop(2)
    plain = loop_record.replay_alternating_steps(log, Generator(noise_dim=4), Discriminator())
    log["calls"][0]["optimizers"][0]["lr"] = 1e-3  # as if G had stepped at another rate
    other = loop_record.replay_alternating_steps(log, Generator(noise_dim=4), Discriminator())
    assert not all(torch.equal(a, b) for a, b in zip(plain, other))


def test_a_returned_module_that_was_not_trained_is_named():
    def fresh_generator(steps):
        gan_loop(steps)
        return Generator(noise_dim=4)

    with trusted.lending([trusted.recorded_gan_step]):
        log = loop_record.recorded_training(fresh_generator, 1)
    assert log["returned_player"] == -1 and log["returned"] is not None


def test_load_in_order_names_the_stack_whose_shapes_differ():
    with pytest.raises(AssertionError, match="the generator's weights and statistics have the shapes"):
        loop_record.load_in_order(Generator(noise_dim=4), loop_record.state_values(Generator(noise_dim=3)), "generator")


def test_first_calls_stops_a_loop_even_through_except_exception():
    def stubborn(steps):
        for _ in range(steps):
            try:
                gan_loop(1)
            except Exception:  # a loop that swallows errors must still stop
                pass

    with trusted.lending([trusted.recorded_gan_step]):
        calls = loop_record.first_calls(3, stubborn, 100)
        assert len(calls) == 3
        assert len(loop_record.recorded_training(gan_loop, 5)["calls"]) == 5  # no stop left behind


def test_recorded_clip_grad_norm_clips_as_the_trusted_one_and_notes_the_norm():
    weights = [torch.nn.Parameter(torch.ones(3)) for _ in range(2)]
    for weight in weights:
        weight.grad = torch.full((3,), 2.0)
    with trusted.lending([trusted.recorded_clip_grad_norm]):
        calls = loop_record.first_calls(1, lambda: trusted.recorded_clip_grad_norm(iter(weights), 1.0))
    assert calls[0]["tensors"]["norm"].item() == pytest.approx(torch.full((6,), 2.0).norm().item())
    assert torch.cat([weight.grad for weight in weights]).norm().item() == pytest.approx(1.0, rel=1e-5)


def test_the_recorded_vae_notes_training_calls_only_and_its_replay_matches_a_plain_loop():
    def loss(x, x_hat, mu, logvar):
        return (F.mse_loss(x_hat, x) + 0.01 * (mu.square() + logvar.exp() - logvar).mean(),)

    def plain_loop(model, X, steps=3):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        rng = torch.Generator().manual_seed(0)
        for _ in range(steps):
            x = X[torch.randint(len(X), (8,), generator=rng)]
            value = loss(x, *model(x, torch.randn(8, model.latent, generator=rng)))[0]
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
        with torch.no_grad():  # an evaluation: not a training step
            model(X[:4], torch.zeros(4, model.latent))

    torch.manual_seed(0)
    model = loop_record.RecordedVAE(latent=2, hidden=16)
    X = torch.rand(32, 64)
    log = loop_record.recorded_training(plain_loop, model, X)
    assert len(log["calls"]) == 3
    replayed = loop_record.replay_vae(log, VAE(latent=2, hidden=16), 1e-3, loss)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), replayed.state_dict().values()))
