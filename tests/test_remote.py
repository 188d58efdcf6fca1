"""grader.remote: what the judge makes of a reply from the student's kernel, and what a call lends it."""

import base64
import copy
import io
import json
import sys

import pytest
import torch

from course import judging, kernel_service, wire
from grader.remote import KernelLink, Remote, StudentRaised, _pickled


def raised(name: str, builtin: bool = True, not_lent: bool = False):
    """What the judge raises for a reply saying the student's code raised ``name``."""
    reply = {"ok": False, "raised": name, "builtin": builtin, "not_lent": not_lent}
    return KernelLink._value(None, reply, None, "sigmoid()")


@pytest.mark.parametrize("name", ["SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"])
def test_an_exit_from_the_students_code_fails_the_test_and_never_stops_the_grader(name):
    with pytest.raises(StudentRaised, match=f"sigmoid\\(\\) raised {name}"):
        raised(name)


def test_a_common_error_is_raised_by_name_so_that_a_test_may_catch_it():
    with pytest.raises(ValueError, match=r"sigmoid\(\) raised ValueError"):
        raised("ValueError")


@pytest.mark.parametrize("name, builtin", [
    ("SecretHiddenInput", False),
    ("hidden_17_3_2_1", True),  # a class the notebook put into the kernel's builtins, which then calls it built in
])
def test_a_class_of_the_notebooks_is_not_named(name, builtin):
    with pytest.raises(StudentRaised, match="^sigmoid\\(\\) raised an exception whose class is not one of Python's "
                                            "built-in ones$"):
        raised(name, builtin=builtin)


def test_a_trusted_function_called_outside_a_test_says_so():
    with pytest.raises(StudentRaised, match="called a function of course.trusted, which stands in for an earlier "
                                            "exercise only while a test lends it: write your own"):
        raised("NotLent", builtin=False, not_lent=True)


def test_an_object_left_in_the_kernel_prints_without_the_name_its_class_claims():
    handle = Remote(None, 0, "negate()", "notebook.hidden_input_is_one_point_five", False)
    assert repr(handle) == "<negate(): an object the notebook keeps>"


# -- a call's arguments and random state, with the kernel's end run in this process --------------------------


class InProcessLink(KernelLink):
    """The judge's link to a "kernel" that is this process: requests pickled and answered as in a kernel, the
    random state kept apart as two processes keep it."""

    def __init__(self):
        super().__init__(client=None, manager=None)

    def _exchange(self, request, label):
        request = {"context": {}, **request}
        copied = kernel_service._Unpickler(io.BytesIO(base64.b64decode(_pickled(request)))).load()
        judge_state = torch.get_rng_state()
        torch.set_rng_state(self.kernel_state)
        reply = json.loads(wire.dumps(kernel_service.answer(copied)))
        self.kernel_state = torch.get_rng_state()
        torch.set_rng_state(judge_state)
        return reply, wire.Decoder(self._handle_maker(label), self.seen_text)

    kernel_state = torch.get_rng_state()


def student(function) -> Remote:
    number = len(kernel_service._handles)
    kernel_service._handles[number] = function
    return Remote(InProcessLink(), number, function.__name__, "builtins.function", True)


def test_what_the_students_code_does_to_a_lent_tensor_never_reaches_the_judges():
    def double(x):  # zeroes the input, so that a reference computed after the call would agree
        x.zero_()
        return torch.zeros_like(x)

    x = torch.arange(4.0)
    assert torch.equal(student(double)(x), torch.zeros(4))
    assert torch.equal(x, torch.arange(4.0))
    assert not torch.allclose(student(double)(x), 2 * x)


def test_a_call_the_test_lets_train_brings_back_gradients_parameters_and_optimizer_state():
    def step(model, optimizer, x, leaf):
        optimizer.zero_grad()
        (model(x).sum() + (leaf ** 2).sum()).backward()
        optimizer.step()

    torch.manual_seed(0)
    model, x, leaf = torch.nn.Linear(3, 2), torch.randn(4, 3), torch.tensor([1.0, -2.0], requires_grad=True)
    reference = copy.deepcopy(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    with judging.judge_mode(), judging.lets_train():
        student(step)(model, optimizer, x, leaf)
    reference_optimizer = torch.optim.Adam(reference.parameters(), lr=0.1)
    step(reference, reference_optimizer, x, leaf.detach().clone().requires_grad_())
    for mine, theirs in zip(model.parameters(), reference.parameters()):
        assert torch.allclose(mine, theirs) and torch.allclose(mine.grad, theirs.grad)
    assert optimizer.state_dict()["state"][0]["step"] == 1
    assert torch.equal(leaf.grad, torch.tensor([2.0, -4.0])) and torch.equal(leaf, torch.tensor([1.0, -2.0]))


def test_a_call_brings_back_only_gradients_unless_the_test_lets_it_train():
    def penalty(critic, x):  # the review's forged gradient penalty: zero the critic a reference is taken from
        with torch.no_grad():
            for parameter in critic.parameters():
                parameter.zero_()
        loss = critic(x).sum()
        loss.backward()
        return loss.detach()

    torch.manual_seed(0)
    critic, x = torch.nn.Linear(3, 1), torch.randn(4, 3)
    weights = [parameter.detach().clone() for parameter in critic.parameters()]
    with judging.judge_mode():
        student(penalty)(critic, x)
    assert all(torch.equal(parameter, saved) for parameter, saved in zip(critic.parameters(), weights))
    assert critic.weight.grad is not None  # the gradient the call found still comes back


def test_an_optimizer_keeps_the_judges_settings_and_takes_only_plain_state():
    def step(model, optimizer):
        optimizer.param_groups[0]["lr"] = 1e6  # a learning rate of the student's choosing
        optimizer.zero_grad()
        model(torch.ones(1, 2)).sum().backward()
        optimizer.step()

    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    with judging.judge_mode(), judging.lets_train():
        student(step)(model, optimizer)
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.state_dict()["state"][0]["step"] == 1


def test_the_kernels_random_state_never_becomes_the_judges():
    def sigmoid(x):  # an all-zero generator state: every later torch.rand would draw 0
        state = torch.get_rng_state().clone()
        state[24:24 + 624 * 8] = 0
        torch.set_rng_state(state)
        return torch.rand(2)

    draws = []
    for _ in range(2):
        torch.manual_seed(1)
        student(sigmoid)(torch.zeros(2))
        draws.append(torch.rand(1000))
    assert torch.equal(draws[0], draws[1]), "the judge's draws after a call must be reproducible"
    assert (draws[0] > 0).all() and draws[0].unique().numel() == 1000


def test_a_seeded_call_draws_what_the_judge_would_and_the_judge_moves_on_whether_or_not_it_drew():
    torch.manual_seed(5)
    assert torch.equal(student(torch.rand)(3), _draws_after_seed(5, 3))
    after = []
    for call in (torch.rand, torch.zeros):  # the student's code cannot choose the judge's next draws by drawing
        torch.manual_seed(5)
        student(call)(3)
        after.append(torch.rand(3))
    assert torch.equal(*after) and not torch.equal(after[0], _draws_after_seed(5, 3))


def _draws_after_seed(seed: int, count: int) -> torch.Tensor:
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    draws = torch.rand(count)
    torch.set_rng_state(state)
    return draws


def test_a_change_in_place_is_reported_to_a_test_that_asks():
    def descend(w, x):
        w -= 0.1 * x
        return w.clone()

    def pure(w, x):
        return w - 0.1 * x

    w, x = torch.ones(3), torch.tensor([1.0, float("nan"), 3.0])
    with judging.judge_mode():
        (value, changed) = judging.call_noting_changes(student(descend), w, x)
        assert changed and torch.equal(w, torch.ones(3))
        (value, changed) = judging.call_noting_changes(student(pure), w, x=x)
        assert not changed  # a NaN left as it was is no change
    assert judging.call_noting_changes(descend, w, x)[1] and not judging.call_noting_changes(pure, w, x)[1]


def test_a_test_can_judge_a_function_alone_on_trusted_functions_under_the_earlier_names():
    notebook = vars(sys.modules["__main__"])  # the kernel's notebook namespace when no IPython runs
    exec("def forward(x):\n    return 2 * sigmoid(x)", notebook)  # noqa: S102 (the student's later exercise)
    notebook["sigmoid"] = lambda x: x  # the student's broken earlier exercise
    try:
        forward, x = student(notebook["forward"]), torch.linspace(-3, 3, 7)
        with judging.judge_mode():
            assert torch.equal(forward(x), 2 * x)
            with judging.built_on(sigmoid=torch.sigmoid):
                assert torch.equal(forward(x), 2 * torch.sigmoid(x))
            assert torch.equal(forward(x), 2 * x)  # the notebook keeps building on its own sigmoid
        with judging.built_on(sigmoid=torch.sigmoid):  # the same outside the judge (JupyterLab, plain nbgrader)
            assert torch.equal(notebook["forward"](x), 2 * torch.sigmoid(x))
        assert torch.equal(notebook["forward"](x), 2 * x)
    finally:
        notebook.pop("forward", None)
        notebook.pop("sigmoid", None)
