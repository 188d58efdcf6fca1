"""Lab 08's rules and the trusted functions its exercises are judged on."""

from __future__ import annotations

from course import trusted
from course.judging import built_on, forbid
from course.language import tr


def kit_reparameterise_disabled():
    """torch's Normal sampling and the kit's reparameterise raise while the student's code runs (exercise 2)."""
    return forbid("torch.distributions.Normal.rsample", "torch.distributions.Normal.sample",
                  "course.autoencoders.reparameterise", message=tr("write the reparameterisation yourself"))


def kit_kl_disabled():
    """torch's and the kit's KL divergences raise while the student's code runs (exercise 3)."""
    return forbid("torch.distributions.kl_divergence", "torch.distributions.kl.kl_divergence",
                  "course.autoencoders.gaussian_kl", message=tr("write the KL divergence yourself"))


def kit_elbo_disabled():
    """torch's log-density and KL, and the kit's negative ELBO, raise while the student's code runs (exercise 4)."""
    return forbid("torch.distributions.Normal.log_prob", "torch.distributions.kl_divergence",
                  "course.autoencoders.negative_elbo", "course.autoencoders.gaussian_negative_log_likelihood",
                  message=tr("write the negative ELBO yourself"))


def kit_vae_disabled():
    """The kit's VAE and reparameterise raise while the student's code runs (exercise 5)."""
    return forbid("course.autoencoders.VAE", "course.autoencoders.reparameterise", message=tr("build the VAE yourself"))


def kit_training_disabled():
    """The kit's train_vae raises while the student's loop runs (exercise 6)."""
    return forbid("course.autoencoders.train_vae", message=tr("write the training loop yourself"))


def exercise_4_alone():
    """negative_elbo judged on its own: the kit's KL where it calls your gaussian_kl (exercise 3 is judged there)."""
    return built_on(gaussian_kl=trusted.gaussian_kl)


def exercise_5_alone():
    """VAE judged on its own: the kit's reparameterise where it calls yours (exercise 2 is judged there)."""
    return built_on(reparameterise=trusted.reparameterise)
