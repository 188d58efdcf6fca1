"""course.kernel_service and course.judging: the kernel's end of the judge's requests, run in this process.

The service is not trusted (a student may replace it); these tests check that an honest notebook answers
what the judge asks: calls under the judge's grad mode, dtype and random state, switched-off functions,
and arguments sent back as the call left them.
"""

import json
import pickle

import pytest
import torch

from course import judging, kernel_service, wire


def handle_of(value) -> int:
    number = len(kernel_service._handles)
    kernel_service._handles[number] = value
    return number


def call(function, *args, context=None, **kwargs):
    request = {"op": "call", "target": handle_of(function), "args": args, "kwargs": kwargs,
               "context": context or {}}
    reply = json.loads(wire.dumps(kernel_service.answer(request)))
    decoder = wire.Decoder(lambda *handle: handle, [])
    value = decoder.value(reply["value"], 0) if reply["ok"] else None
    return reply, value, decoder


def test_the_call_runs_under_the_judges_grad_mode_dtype_and_threads():
    threads = torch.get_num_threads()
    reply, value, _ = call(lambda: (torch.is_grad_enabled(), torch.get_default_dtype(), torch.get_num_threads()),
                           context={"grad": False, "dtype": torch.float64, "threads": threads + 1})
    assert value == (False, torch.float64, threads + 1)
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32 and torch.get_num_threads() == threads


def test_the_judges_random_state_travels_to_the_kernel_and_the_kernels_never_comes_back():
    torch.manual_seed(7)
    state = torch.get_rng_state()
    expected = torch.rand(3)
    torch.manual_seed(0)
    reply, value, decoder = call(lambda: torch.rand(3), context={"rng": state})
    assert torch.equal(value, expected)
    assert "rng" not in reply  # the judge reseeds itself after every call (grader.remote)


def test_a_switched_off_function_is_reported_even_when_the_student_catches_it():
    def sneaky(x):
        try:
            return torch.sigmoid(x)
        except AssertionError:
            return x

    reply, _, _ = call(sneaky, torch.zeros(2), context={"forbid": ["torch.sigmoid"]})
    assert reply["forbidden"] == [0]
    assert torch.sigmoid(torch.zeros(1)).item() == 0.5  # restored


def test_a_switched_off_method_and_notebook_global_are_restored():
    assert "sigmoid" not in vars(torch.Tensor)
    reply, _, _ = call(lambda x: x.sigmoid(), torch.zeros(2), context={"forbid": ["torch.Tensor.sigmoid"]})
    assert reply["forbidden"] == [0] and reply["raised"] == "ForbiddenCall"
    assert "sigmoid" not in vars(torch.Tensor)


def test_arguments_come_back_as_the_call_left_them():
    def in_place(w, params):
        w.add_(1)
        params[0].grad = torch.full((2,), 3.0)

    parameter = torch.nn.Parameter(torch.zeros(2))
    reply, _, decoder = call(in_place, torch.zeros(2), [parameter])
    w_after, (params_after,) = reply["after"][0]["items"][0], reply["after"][0]["items"][1:]
    assert torch.equal(decoder.value(w_after, 0), torch.ones(2))
    assert torch.equal(decoder.value(params_after["items"][0], 0).grad, torch.full((2,), 3.0))


def test_an_exception_is_reported_by_name_only():
    reply, _, _ = call(lambda: int("secret hidden input"))
    assert reply["ok"] is False and reply["raised"] == "ValueError" and reply["builtin"] is True
    assert "secret" not in json.dumps(reply)


def test_a_trusted_function_called_without_a_lending_test_is_reported_as_such():
    from course import trusted

    reply, _, _ = call(lambda: trusted.sigmoid_prime(torch.zeros(2)))
    assert reply["ok"] is False and reply["raised"] == "NotLent" and reply["not_lent"] is True
    reply, _, _ = call(lambda: int("x"))
    assert reply["not_lent"] is False


def test_forbid_in_a_kernel_patches_and_restores():
    with judging.forbid("torch.sigmoid", "torch.Tensor.sigmoid", message="do it yourself"):
        with pytest.raises(AssertionError, match="do it yourself"):
            torch.sigmoid(torch.zeros(1))
        with pytest.raises(AssertionError, match="do it yourself"):
            torch.zeros(1).sigmoid()
    assert torch.sigmoid(torch.zeros(1)).item() == 0.5 and torch.zeros(1).sigmoid().item() == 0.5


def test_forbid_in_the_judge_only_records_the_targets():
    with judging.judge_mode():
        with judging.forbid("torch.sigmoid", message="m1"), judging.forbid("helper", message="m2"):
            assert judging.forbidden_targets() == [("torch.sigmoid", "m1"), ("helper", "m2")]
            assert torch.sigmoid(torch.zeros(1)).item() == 0.5  # the judge's own torch is untouched
        assert judging.forbidden_targets() == []


def test_counted_functions_are_counted_and_still_run():
    def clip(x):
        return x * 2

    namespace = judging._notebook_globals()
    namespace["clip_for_test"] = clip
    try:
        def train(x):
            return namespace["clip_for_test"](x) + namespace["clip_for_test"](x) + torch.tanh(x)

        reply, value, _ = call(train, torch.zeros(2), context={"count": ["clip_for_test", "torch.tanh"]})
        assert reply["counted"] == [2, 1] and torch.equal(value, torch.zeros(2))
        assert namespace["clip_for_test"] is clip and torch.tanh is not None and "tanh" in vars(torch)
        reply, _, _ = call(lambda: int("x"), context={"count": ["torch.tanh", "not_defined_here"]})
        assert reply["ok"] is False and reply["counted"] == [0, 0] and "not_defined_here" not in namespace
    finally:
        namespace.pop("clip_for_test", None)


def test_a_counted_method_keeps_its_self():
    reply, value, _ = call(lambda x: x.sigmoid(), torch.zeros(2), context={"count": ["torch.Tensor.sigmoid"]})
    assert reply["counted"] == [1] and torch.equal(value, torch.full((2,), 0.5))
    assert "sigmoid" not in vars(torch.Tensor)


def test_count_calls_in_a_kernel_wraps_and_restores():
    namespace = judging._notebook_globals()
    namespace["clip_for_test"] = lambda x: x + 1
    original = namespace["clip_for_test"]
    try:
        with judging.count_calls("clip_for_test") as calls, judging.count_calls("torch.Tensor.sigmoid") as methods:
            assert namespace["clip_for_test"](1) == 2 and torch.zeros(1).sigmoid().item() == 0.5
            namespace["clip_for_test"](1)
        assert calls.count == 2 and methods.count == 1
        assert namespace["clip_for_test"] is original and "sigmoid" not in vars(torch.Tensor)
        with judging.count_calls("not_defined_here") as nothing:
            assert "not_defined_here" not in namespace
        assert nothing.count == 0
    finally:
        namespace.pop("clip_for_test", None)


def test_count_calls_in_the_judge_adds_what_the_kernel_reports():
    from grader.remote import _add_counts

    with judging.judge_mode():
        with judging.count_calls("clip_grad_norm") as calls, judging.count_calls("torch.tanh") as tanh:
            counted = judging.counted_targets()
            assert [target for target, _ in counted] == ["clip_grad_norm", "torch.tanh"]
            _add_counts(counted, [3, 0])
            _add_counts(counted, [1, 2])
            _add_counts(counted, [5])  # malformed replies are ignored
            _add_counts(counted, [-4, "2"])
        assert judging.counted_targets() == []
    assert calls.count == 4 and tanh.count == 2


def test_type_name_locally_and_for_a_handle():
    from grader.remote import Remote

    assert judging.type_name(torch.nn.Linear(1, 1)) == "torch.nn.modules.linear.Linear"
    assert judging.type_name((1, 2)) == "builtins.tuple"
    handle = Remote(None, 0, "vocab", "course.rnn.CharVocabulary", False)
    assert judging.type_name(handle) == "course.rnn.CharVocabulary"


def test_call_and_backward_backpropagates_where_the_code_runs():
    def loss(z, y):
        return ((z - y) ** 2).mean()

    z = torch.tensor([1.0, 3.0], requires_grad=True)
    value = judging.call_and_backward(loss, z, torch.zeros(2))  # in a kernel: here
    assert value.item() == 5.0 and not value.requires_grad and torch.equal(z.grad, torch.tensor([1.0, 3.0]))
    reply, value, decoder = call(loss, torch.tensor([1.0, 3.0], requires_grad=True), torch.zeros(2),
                                 context={"backward": True})  # the kernel's end of a call in the judge
    assert value.item() == 5.0
    assert torch.equal(decoder.value(reply["after"][0]["items"][0], 0).grad, torch.tensor([1.0, 3.0]))
    reply, _, decoder = call(loss, torch.tensor([1.0, 3.0], requires_grad=True), torch.zeros(2))
    assert decoder.value(reply["after"][0]["items"][0], 0).grad is None  # no backward unless asked
    with judging.judge_mode():
        seen = []
        judging.call_and_backward(lambda: seen.append(judging.backward_requested()))
        assert seen == [True] and not judging.backward_requested()


def double_the_gradient_of(function, x):
    """A course function run by in_kernel (importable by name): the student's function, then a backward pass."""
    (2 * function(x)).sum().backward()
    return "done"


def test_in_kernel_runs_a_function_by_name_on_the_students_code():
    def square(x):
        return x ** 2

    x = torch.tensor([1.0, -2.0], requires_grad=True)
    assert judging.in_kernel(double_the_gradient_of, square, x) == "done"  # in a kernel: here
    assert torch.equal(x.grad, torch.tensor([4.0, -8.0]))
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    request = {"op": "call_function", "function": double_the_gradient_of, "args": (square, x), "kwargs": {},
               "context": {"forbid": ["torch.sigmoid"]}}
    reply = json.loads(wire.dumps(kernel_service.answer(request)))  # the kernel's end of it in the judge
    decoder = wire.Decoder(lambda *handle: handle, [])
    assert reply["ok"] is True and decoder.value(reply["value"], 0) == "done"
    assert torch.equal(decoder.value(reply["after"][0]["items"][1], 0).grad, torch.tensor([4.0, -8.0]))
    reply = kernel_service.answer({**request, "args": (lambda x: torch.sigmoid(x), x)})
    assert reply["ok"] is False and reply["forbidden"] == [0]


def test_in_kernel_in_the_judge_sends_the_function_by_reference():
    from grader.remote import Remote

    class Link:
        def call_function(self, function, args, kwargs, label):
            self.sent = (function, args, kwargs, label)
            return 42

    link = Link()
    student = Remote(link, 3, "cgan_step", "builtins.function", True)
    with judging.judge_mode():
        assert judging.in_kernel(double_the_gradient_of, student, torch.zeros(1), extra=1) == 42
        assert judging.in_kernel(lambda x: x + 1, 1) == 2  # no student object among the arguments: here
    function, args, kwargs, label = link.sent
    assert function is double_the_gradient_of and args[0] is student and kwargs == {"extra": 1}
    assert label == "double_the_gradient_of(cgan_step)"


def test_log_inputs_records_each_call_and_travels_with_a_lent_module():
    layer = judging.log_inputs(torch.nn.Linear(2, 1), rows=3)
    lent = pickle.loads(pickle.dumps(layer))  # as the judge lends it to a student's step
    batches = [torch.ones(4, 2), torch.full((5, 2), 2.0, requires_grad=True), torch.zeros(1, 2), torch.ones(2, 2)]
    reply, _, decoder = call(lambda module: [module(batch).detach() for batch in batches], lent)
    after = dict(reply["after"][0]["items"][0]["module"])
    log, count = decoder.value(after["input_log"], 0), decoder.value(after["input_count"], 0)
    assert int(count) == 4  # the fourth call is counted beyond the log's three rows
    assert torch.equal(log, torch.tensor([[0.0, 4, 8], [1, 5, 20], [0, 1, 0]], dtype=torch.float64))
    layer.load_state_dict({**layer.state_dict(), "input_log": log, "input_count": count})
    assert torch.equal(judging.logged_inputs(layer), log)
    layer(torch.ones(1, 2))
    assert int(layer.input_count) == 5 and len(judging.logged_inputs(layer)) == 3  # this log is full too
