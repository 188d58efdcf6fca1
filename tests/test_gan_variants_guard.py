"""course.gan_variants.guard: lab 07's switch stops every implementation however it is reached; and
course.judging.weighted_backward, which lab 07's tests use."""

import pytest
import torch
from torch import nn

from course.gan import Discriminator
from course.gan_variants.guard import course_variants_disabled
from course.gan_variants.layers import (CodedGenerator, ConditionalDiscriminator, MinibatchDiscrimination,
                                        VirtualBatchNorm, last_hidden_features, with_one_hot)
from course.gan_variants.losses import (clip_weights, ebgan_discriminator_loss, feature_matching_loss, gradient_penalty,
                                        pulling_away_term)
from course.judging import weighted_backward
from gan_helpers import one_cpu_thread

pytestmark = pytest.mark.usefixtures(one_cpu_thread.__name__)  # every test here on one CPU thread


def test_course_variants_disabled_stops_the_implementations_however_they_are_reached():
    import course.gan_variants

    alias = course.gan_variants.critic_loss
    scores = torch.randn(4)
    calls = [lambda: alias(scores, scores), lambda: course.gan_variants.wasserstein_generator_loss(scores),
             lambda: gradient_penalty(lambda x: x.sum(1), torch.randn(3, 2), torch.randn(3, 2)),
             lambda: feature_matching_loss(torch.randn(3, 2), torch.randn(3, 2)),
             lambda: ebgan_discriminator_loss(scores, scores, 1.0), lambda: pulling_away_term(torch.randn(3, 2)),
             lambda: MinibatchDiscrimination(2)(torch.randn(3, 2)),
             lambda: clip_weights(nn.Linear(2, 1), 0.01),
             lambda: VirtualBatchNorm(2)(torch.randn(3, 2), torch.randn(4, 2)),
             lambda: CodedGenerator(2, 2, 3)(torch.randn(3, 2), torch.zeros(3, dtype=torch.long)),
             lambda: ConditionalDiscriminator(2, 3)(torch.randn(3, 2), torch.zeros(3, dtype=torch.long))]
    with course_variants_disabled():
        for call in calls:
            with pytest.raises(AssertionError, match="write this yourself instead of calling course.gan_variants"):
                call()
        # not exercises: internal, or given to the lab (exercise 7 conditions its players with with_one_hot)
        assert last_hidden_features(Discriminator(2, hidden=4), torch.zeros(1, 2)).shape == (1, 4)
        assert with_one_hot(torch.zeros(2, 1), torch.tensor([0, 1]), 2).shape == (2, 3)
    for call in calls:  # switched on again
        call()


def test_weighted_backward_takes_the_gradient_of_the_weighted_sum():
    x = torch.randn(3, 2, requires_grad=True)
    weights = torch.randn(3, 4)
    value = weighted_backward(with_one_hot, weights, x, torch.tensor([0, 1, 1]), 2)
    assert torch.equal(value, with_one_hot(x, torch.tensor([0, 1, 1]), 2)) and not value.requires_grad
    assert torch.equal(x.grad, weights[:, :2])
    energy = torch.tensor([0.5, 2.0], requires_grad=True)
    both = weighted_backward(lambda e: (e.sum(), (e ** 2).sum()), (1.0, 0.0), energy)
    assert isinstance(both, tuple) and torch.equal(energy.grad, torch.ones(2))
    other_shape = torch.zeros(2, requires_grad=True)
    weighted_backward(lambda z: z * 2, torch.ones(3), other_shape)  # a result of another shape adds nothing
    assert other_shape.grad is None
