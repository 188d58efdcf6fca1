"""Topic 07: the GAN variants of the slides, each a small change to course.gan's game.

Every variant is a :class:`Variant`: it may build other players (an autoencoder as D, a D with a
minibatch layer, a G with a class input), and it says what D and G minimise. :class:`VariantTrainer`
is course.gan's seeded, device-ready ``GANTrainer`` with the variant's players and losses, so the
same targets, evaluation, history and playground work for all of them.

Submodules: ``losses`` and ``layers`` (the variants' building blocks), ``variants`` (each variant's game),
``trainer`` (:class:`VariantTrainer`), ``digits`` (the digits as a target and what the classifier calls the
samples), ``papers`` (the published benchmark rows) and ``guard`` (the switch lab 07's hidden tests use).

=========================  =====================================================================
variant                    what it changes
=========================  =====================================================================
vanilla                    nothing: D and G of topic 04, the non-saturating generator loss
label smoothing            D's target for real samples is 0.9, not 1 (单边标签平滑, one-sided)
feature matching           G matches the mean of D's last hidden features on real and fake (特征匹配)
minibatch discrimination   D sees how close each sample is to the others in its batch (最小批量判断)
historical averaging       each player pays ||theta - mean of its past thetas||^2 (历史平均)
virtual batch norm         G's layers are normalised with a fixed reference batch (虚拟批量正则)
WGAN                       a critic estimates the Wasserstein-1 distance; weights clipped to [-c, c]
WGAN-GP                    the same critic, kept 1-Lipschitz by a gradient penalty instead
EBGAN                      D is an autoencoder whose reconstruction error is an energy, with a margin
CGAN                       G and D are both given the class (the target's component) as a one-hot
InfoGAN                    G gets a categorical code; a head Q on D must recover it (mutual information)
=========================  =====================================================================
"""

from course.gan_variants.digits import DigitsTarget, train_with_cgan_step
from course.gan_variants.guard import course_variants_disabled
from course.gan_variants.layers import (CodedGenerator, ConditionalDiscriminator, MinibatchDiscrimination,
                                        VirtualBatchNorm, virtual_batch_norm, with_one_hot)
from course.gan_variants.losses import (clip_weights, critic_loss, ebgan_discriminator_loss, feature_matching_loss,
                                        gradient_penalty, pulling_away_term, wasserstein_generator_loss)
from course.gan_variants.trainer import VariantTrainer
from course.gan_variants.variants import VARIANTS

# What lab 07 and the other topics import from the package: its exercises' implementations (which the guard
# switches off), the helpers the lab is given, the digits target and the trainer.
__all__ = [
    "CodedGenerator", "ConditionalDiscriminator", "DigitsTarget", "MinibatchDiscrimination", "VARIANTS",
    "VariantTrainer", "VirtualBatchNorm", "clip_weights", "course_variants_disabled", "critic_loss",
    "ebgan_discriminator_loss", "feature_matching_loss", "gradient_penalty", "pulling_away_term",
    "train_with_cgan_step", "virtual_batch_norm", "wasserstein_generator_loss", "with_one_hot",
]
