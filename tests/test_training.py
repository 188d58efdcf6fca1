"""The device-agnostic training loop."""

import pytest
import torch
from torch import nn

from course.data import digits, two_moons
from course.repro import pick_device, seed_everything
from course.training import accuracy, predict_classes, train_epochs, train_full_batch


def small_classifier():
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1), nn.Sigmoid())


def test_training_separates_the_moons():
    seed_everything(0)
    X_train, y_train, X_test, y_test = two_moons(n_samples=300)
    model = small_classifier()
    losses = train_full_batch(model, X_train, y_train, nn.functional.mse_loss, steps=1500, learning_rate=2.0)
    assert len(losses) == 1500
    assert losses[-1] < losses[0] / 4
    assert accuracy(model, X_test, y_test) >= 0.95
    assert next(model.parameters()).device.type == pick_device().type


def test_training_is_reproducible():
    X, y, _, _ = two_moons(n_samples=100)
    runs = []
    for _ in range(2):
        seed_everything(7)
        runs.append(train_full_batch(small_classifier(), X, y, nn.functional.mse_loss, steps=20, learning_rate=0.5))
    assert runs[0] == runs[1]


def test_accuracy_counts_thresholded_outputs():
    model = nn.Sequential(nn.Linear(1, 1))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[0].bias.fill_(0.0)
    X = torch.tensor([[0.2], [0.9], [0.7], [0.1]])
    y = torch.tensor([0.0, 1.0, 0.0, 0.0])
    assert accuracy(model, X, y) == pytest.approx(0.75)


def test_training_refuses_zero_steps():
    X, y, _, _ = two_moons(n_samples=40)
    with pytest.raises(ValueError, match="at least one step"):
        train_full_batch(small_classifier(), X, y, nn.functional.mse_loss, steps=0, learning_rate=0.1)


def tiny_digits_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))


def test_train_epochs_learns_digits_and_repeats_itself():
    X_train, y_train, X_test, y_test = digits()
    runs = []
    for _ in range(2):
        seed_everything(0)
        model = tiny_digits_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        runs.append(train_epochs(model, X_train, y_train, nn.functional.cross_entropy, optimizer, epochs=5, batch_size=64))
    assert runs[0] == runs[1] and len(runs[0]) == 5
    assert runs[0][-1] < runs[0][0]
    predictions = predict_classes(model, X_test, batch_size=100)
    assert predictions.shape == y_test.shape
    assert (predictions == y_test).float().mean() > 0.9  # a linear model on 8x8 digits


def test_predict_classes_is_the_argmax_of_the_model():
    model = tiny_digits_model()
    X = torch.rand(7, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(predict_classes(model, X, batch_size=3), model(X).argmax(dim=1))


def test_train_epochs_refuses_empty_runs():
    model = tiny_digits_model()
    with pytest.raises(ValueError, match="at least 1"):
        train_epochs(model, torch.rand(4, 1, 8, 8), torch.zeros(4, dtype=torch.long), nn.functional.cross_entropy,
                     torch.optim.SGD(model.parameters(), lr=0.1), epochs=0, batch_size=2)


def test_train_epochs_leaves_the_global_generator_alone():
    X, y = torch.rand(50, 1, 8, 8), torch.randint(0, 10, (50,))
    model = tiny_digits_model()
    state = torch.get_rng_state()
    train_epochs(model, X, y, nn.functional.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.1),
                 epochs=3, batch_size=8, seed=5)
    assert torch.equal(torch.get_rng_state(), state)  # shuffling drew from its own generator


def test_epoch_loss_is_the_mean_over_every_sample_once():
    # With a learning rate of 0 the model never changes, so each epoch's loss (ragged last batch
    # included) must equal the loss over the whole set in one go.
    X, y = torch.rand(37, 1, 8, 8), torch.randint(0, 10, (37,))
    model = tiny_digits_model()
    losses = train_epochs(model, X, y, nn.functional.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.0),
                          epochs=2, batch_size=10, device=torch.device("cpu"))
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model(X), y).item()
    assert losses == pytest.approx([expected, expected], rel=1e-5)
