"""Topic 00's helpers against trusted references: scikit-learn's StandardScaler and metrics, F.avg_pool2d's
definition written out, and gradient descent done by hand."""

import copy

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, log_loss
from sklearn.preprocessing import StandardScaler
from torch import nn

from course.pytorch_basics import (
    DIGIT_PAIR,
    FEATURES,
    DigitFeatures,
    LogisticRegression,
    digit_features,
    digit_pair_images,
    eights_and_nines,
    evaluate,
    fit,
    minibatch_descent,
    shuffled_batches,
    standardise,
)


def test_digit_features_are_the_means_of_2x2_blocks_of_the_image_scaled_to_one():
    images = torch.randint(0, 17, (3, 8, 8)).float()
    features = digit_features(images)
    by_hand = torch.stack([torch.stack([images[n, r:r + 2, c:c + 2].mean() / 16 for r in range(0, 8, 2)
                                        for c in range(0, 8, 2)]) for n in range(3)])
    assert features.shape == (3, FEATURES) and features.dtype == torch.float32
    assert torch.allclose(features, by_hand)


def test_digit_pair_images_keep_the_pair_only_labelled_zero_and_one():
    images, labels = digit_pair_images()
    assert images.shape[1:] == (8, 8) and set(labels.tolist()) == {0, 1}
    assert 0 <= images.min() and images.max() <= 16
    assert 300 < len(labels) < 400  # about 180 of each digit among scikit-learn's 1,797
    other_images, other_labels = digit_pair_images((0, 1))
    assert not torch.equal(other_images[:5], images[:5])


def test_eights_and_nines_split_is_stratified_and_repeatable():
    X_train, y_train, X_test, y_test = eights_and_nines()
    images, labels = digit_pair_images()
    assert len(X_train) + len(X_test) == len(labels) and X_train.shape[1] == FEATURES
    assert abs(y_train.mean() - y_test.mean()) < 0.02 and abs(y_train.mean() - labels.float().mean()) < 0.02
    assert torch.equal(eights_and_nines()[0], X_train)
    assert DIGIT_PAIR == (8, 9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_standardise_matches_standard_scaler_with_a_constant_column(dtype):
    X = torch.cat([torch.randn(40, 3, dtype=dtype) * 5 + 2, torch.full((40, 1), 3.0, dtype=dtype)], dim=1)
    scaler = StandardScaler().fit(X.double().numpy())
    standardised, mean, std = standardise(X)
    assert standardised.dtype == dtype
    assert torch.allclose(standardised.double(), torch.from_numpy(scaler.transform(X.double().numpy())), atol=1e-5)
    assert torch.allclose(mean.double(), torch.from_numpy(scaler.mean_), atol=1e-5)
    assert torch.allclose(std.double(), torch.from_numpy(scaler.scale_), rtol=1e-5)
    assert torch.equal(standardised[:, 3], torch.zeros(40, dtype=dtype))


def test_logistic_regression_is_the_slides_sequential_and_a_sigmoid_of_a_linear_map():
    model = LogisticRegression(5)
    assert [type(layer) for layer in model.log_reg] == [nn.Linear, nn.Sigmoid]
    x = torch.randn(7, 5)
    weight, bias = model.log_reg[0].weight, model.log_reg[0].bias
    assert torch.allclose(model(x), torch.sigmoid(x @ weight.T + bias))
    assert sum(p.numel() for p in model.parameters()) == 6


def test_digit_features_dataset_gives_features_and_labels_of_shape_one():
    images, labels = digit_pair_images()
    dataset = DigitFeatures(images[:10], labels[:10])
    features, label = dataset[3]
    assert len(dataset) == 10 and features.shape == (FEATURES,) and label.shape == (1,)
    assert torch.equal(features, digit_features(images[3:4])[0]) and label.item() == labels[3].item()
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        DigitFeatures(images[:10], labels[:9])


def test_shuffled_batches_visit_every_sample_once_per_epoch_in_new_orders_repeatable_by_seed():
    X, y = torch.arange(10.0).reshape(10, 1), torch.zeros(10)

    def orders(seed):
        loader = shuffled_batches(X, y, 4, seed)
        return [[int(v) for batch, _ in loader for v in batch.reshape(-1)] for _ in range(2)]

    first, second = orders(0)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second
    assert orders(0) == [first, second] and orders(1) != [first, second]


def gradient_descent(model, X, y, steps, lr, accumulate=False):
    """Full-batch gradient descent on the mean BCE, written out; ``accumulate`` keeps every gradient so far."""
    model = copy.deepcopy(model)
    total = [torch.zeros_like(p) for p in model.parameters()]
    for _ in range(steps):
        loss = F.binary_cross_entropy(model(X), y.reshape(-1, 1))
        grads = torch.autograd.grad(loss, list(model.parameters()))
        with torch.no_grad():
            for parameter, gradient, running in zip(model.parameters(), grads, total):
                running += gradient
                parameter -= lr * (running if accumulate else gradient)
    return model


@pytest.mark.parametrize("zero_grad", [True, False])
def test_fit_with_one_batch_per_epoch_is_gradient_descent_with_or_without_zero_grad(zero_grad):
    X, y = torch.randn(30, 4), (torch.rand(30) > 0.5).float()
    torch.manual_seed(1)
    model = LogisticRegression(4)
    expected = gradient_descent(model, X, y, steps=3, lr=0.3, accumulate=not zero_grad)
    losses = fit(model, X, y, epochs=3, batch_size=30, lr=0.3, seed=0, zero_grad=zero_grad)
    assert len(losses) == 3 and all(isinstance(loss, float) for loss in losses)
    for got, want in zip(model.parameters(), expected.parameters()):
        assert torch.allclose(got, want, atol=1e-6)


def test_minibatch_descent_weighs_each_batch_by_its_size_and_steps_once_a_batch():
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.5)
    batches = [(torch.full((3,), 2.0),), (torch.full((1,), 6.0),)]  # the loss of a batch: mean of (w - x)^2
    losses = minibatch_descent(optimizer, 1, lambda: batches, lambda x: ((weight - x) ** 2).mean())
    # first batch: loss 4, w -> 0 + 0.5 * 2 * 2 = 2; second: loss (2 - 6)^2 = 16, w -> 2 + 0.5 * 2 * 4 = 6
    assert losses == [(4.0 * 3 + 16.0 * 1) / 4]
    assert weight.item() == 6.0


def test_fit_on_the_digits_learns_and_refuses_an_unknown_optimizer():
    X_train, y_train, X_test, y_test = eights_and_nines()
    X_train, mean, std = standardise(X_train)
    for optimizer, lr in (("SGD", 0.1), ("Adam", 0.01)):
        torch.manual_seed(0)
        model = LogisticRegression(FEATURES)
        losses = fit(model, X_train, y_train, epochs=10, batch_size=32, lr=lr, seed=0, optimizer=optimizer)
        assert losses[-1] < losses[0] / 2
        assert evaluate(model, (X_test - mean) / std, y_test)[0] > 0.9
    with pytest.raises(ValueError, match="optimizer='LBFGS'"):
        fit(model, X_train, y_train, 1, 32, 0.1, 0, optimizer="LBFGS")


def test_evaluate_matches_scikit_learn_metrics_in_eval_mode_and_restores_the_mode():
    X, y = torch.randn(50, 6), (torch.rand(50) > 0.5).float()
    model = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.Linear(8, 1), nn.Sigmoid())
    model.train()
    accuracy, loss = evaluate(model, X, y)
    model.eval()
    with torch.no_grad():
        p = model(X).reshape(-1).double().numpy()
    assert accuracy == pytest.approx(accuracy_score(y.numpy(), p >= 0.5))
    assert loss == pytest.approx(log_loss(y.numpy(), p, labels=[0, 1]), rel=1e-5)
    model.train()
    evaluate(model, X, y)
    assert model.training and all(parameter.grad is None for parameter in model.parameters())
