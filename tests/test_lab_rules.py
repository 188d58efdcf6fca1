"""course.lab_rules: what the labs' test cells import instead of pasting it. A rule switches off what it names, in a
kernel and in the judge alike; an exercise judged alone finds the trusted functions it names; the GAN steps' twin
players start equal and count the gradients that reach G; and every rule the solutions' test cells use is one of
these (a cell that defines its own copy again fails here)."""

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import course.lab_rules
from course import judging, trusted
from course.gan import Discriminator, Generator, sample_noise
from course.lab_rules import backprop, bce, dcgan, gan_objective, gan_steps
from grader.notebooks import is_test_cell, read_notebook

ROOT = Path(__file__).resolve().parent.parent
MODULES = [importlib.import_module(f"course.lab_rules.{info.name}")
           for info in pkgutil.iter_modules(course.lab_rules.__path__)]
RULES = [(module.__name__, name, function) for module in MODULES for name, function in vars(module).items()
         if inspect.isfunction(function) and function.__module__ == module.__name__
         and not inspect.signature(function).parameters]


def rule_call(function):
    """The one ``forbid(...)`` or ``built_on(...)`` call a rule returns, as an AST dump."""
    tree = ast.parse(inspect.getsource(function))
    (returned,) = [node.value for node in ast.walk(tree) if isinstance(node, ast.Return)]
    return ast.dump(returned)


@pytest.mark.parametrize("module, name, rule", RULES, ids=lambda value: value if isinstance(value, str) else "")
def test_every_rule_is_a_context_that_a_test_enters(module, name, rule):
    assert rule.__doc__, f"{module}.{name} has no docstring"
    with rule():
        pass


def test_a_rule_switches_off_its_targets_with_its_message_and_restores_them():
    h, y = torch.tensor([0.2, 0.9]), torch.tensor([0.0, 1.0])
    with bce.torch_bce_disabled(), pytest.raises(AssertionError, match="compute the binary cross-entropy yourself"):
        F.binary_cross_entropy(h, y)
    with gan_objective.library_bce_disabled(), pytest.raises(AssertionError, match="compute V"):
        torch.nn.BCELoss()(h, y)
    assert torch.isfinite(F.binary_cross_entropy(h, y))


def test_in_the_judge_a_rule_only_records_its_targets():
    with judging.judge_mode():
        with bce.torch_bce_disabled():
            targets = judging.forbidden_targets()
        assert judging.forbidden_targets() == []
    assert {target for target, _ in targets} == set(judging.LIBRARY_BCE)
    assert {message for _, message in targets} == {
        "compute the binary cross-entropy yourself instead of calling a library's"}


def test_an_exercise_judged_alone_finds_the_trusted_functions_under_their_names():
    namespace = vars(__import__("__main__"))
    with judging.judge_mode(), backprop.exercise_4_alone():
        lent = dict(judging.built_on_targets())
    assert lent == {"sigmoid": torch.sigmoid, "sigmoid_prime": trusted.sigmoid_prime,
                    "forward_221": trusted.forward_221, "gradients_221": trusted.gradients_221}
    with bce.on_the_kits_bce():
        assert namespace["bce_from_logits"] is trusted.bce_from_logits
    assert "bce_from_logits" not in namespace


def test_random_params_gives_each_layer_its_weights_and_bias_from_the_global_generator():
    torch.manual_seed(0)
    params = backprop.random_params([2, 3, 1])
    assert [(tuple(W.shape), tuple(b.shape)) for W, b in params] == [((3, 2), (3,)), ((1, 3), (1,))]
    torch.manual_seed(0)
    assert torch.equal(torch.randn(3, 2), params[0][0])


def sgd(parameters):
    return torch.optim.SGD(parameters, lr=0.1)


@pytest.mark.parametrize("make_copies", [lambda: bce.two_copies(3, sgd),
                                         lambda: dcgan.two_copies(3, sgd, nz=4, width=2, image_size=32)])
def test_two_copies_start_equal_with_their_own_optimisers(make_copies):
    (G, D, g_optimizer, d_optimizer), (G2, D2, g_optimizer2, d_optimizer2) = make_copies()
    assert torch.equal(gan_steps.all_weights(G, D), gan_steps.all_weights(G2, D2))
    assert G is not G2 and D is not D2 and g_optimizer is not g_optimizer2 and d_optimizer is not d_optimizer2
    assert [p for group in g_optimizer.param_groups for p in group["params"]] == list(G.parameters())
    assert [p for group in d_optimizer2.param_groups for p in group["params"]] == list(D2.parameters())
    assert not hasattr(G2, "gradients_received")


def test_two_copies_are_seeded():
    first, again = bce.two_copies(5, sgd), bce.two_copies(5, sgd)
    other = bce.two_copies(6, sgd)
    assert torch.equal(gan_steps.all_weights(*first[0][:2]), gan_steps.all_weights(*again[0][:2]))
    assert not torch.equal(gan_steps.all_weights(*first[0][:2]), gan_steps.all_weights(*other[0][:2]))


def test_gradients_received_counts_the_backward_passes_through_g_and_starts_again():
    (G, D, *_), _ = gan_steps.two_copies(lambda: (Generator(noise_dim=2, hidden=8), Discriminator(hidden=8)), sgd, 0)
    fake = G(sample_noise(4, 2, generator=1))
    D(fake).sum().backward(retain_graph=True)
    D(fake).sum().backward()
    assert gan_steps.gradients_received(G) == 2
    assert gan_steps.gradients_received(G) == 0
    D(G(sample_noise(4, 2, generator=2)).detach()).sum().backward()
    assert gan_steps.gradients_received(G) == 0


def test_all_weights_lists_g_then_d():
    G, D = torch.nn.Linear(2, 1), torch.nn.Linear(1, 1)
    expected = torch.cat([G.weight.flatten(), G.bias, D.weight.flatten(), D.bias]).detach()
    assert torch.equal(gan_steps.all_weights(G, D), expected)


def test_no_test_cell_spells_out_a_rule_the_package_holds():
    """A rule's forbid(...) or built_on(...) written again in a test cell would drift from the package's copy."""
    held = {rule_call(function): f"{module}.{name}" for module, name, function in RULES}
    pasted = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in read_notebook(path).cells:
            if cell.cell_type == "code" and is_test_cell(cell):
                pasted += [f"{path.parent.name}: {held[ast.dump(node)]}" for node in ast.walk(ast.parse(cell.source))
                           if isinstance(node, ast.Call) and ast.dump(node) in held]
    assert not pasted, "test cells that spell out a rule of course.lab_rules instead of importing it:\n" + "\n".join(
        pasted)
