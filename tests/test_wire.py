"""course.wire: what the judge accepts from a student's kernel is plain data and nothing else."""

import base64
import json

import numpy as np
import pytest
import torch

from course import wire
from grader.kernel_client import read_message_part


def round_trip(value):
    handles = {}
    text = wire.dumps(wire.Encoder(handles).encode(value))
    return wire.decode(text, lambda number, type_name, is_callable: ("handle", number, type_name, is_callable))


@pytest.mark.parametrize("dtype", list(wire.DTYPES.values()))
def test_tensors_of_every_dtype_come_back_equal_and_plain(dtype):
    original = (torch.randn(3, 4) * 5).to(dtype)
    decoded = round_trip(original)
    assert type(decoded) is torch.Tensor and decoded.dtype == dtype and decoded.shape == original.shape
    assert torch.equal(decoded, original)


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1,), (2, 3, 4, 5)])
def test_shapes_survive(shape):
    original = torch.arange(int(torch.tensor(shape).prod()) if shape else 1, dtype=torch.float64).reshape(shape)
    assert torch.equal(round_trip(original), original)


def test_a_non_contiguous_view_is_sent_as_its_values():
    original = torch.arange(12.0).reshape(3, 4).T
    assert torch.equal(round_trip(original), original)


def test_containers_numbers_and_strings_keep_their_kinds():
    value = {"a": [1, 2.5, None, True], 3: ("x", float("inf")), (1, 2): torch.float32, "size": torch.Size([2, 3])}
    decoded = round_trip(value)
    assert decoded["a"] == [1, 2.5, None, True] and type(decoded["a"][0]) is int
    assert decoded[3] == ("x", float("inf")) and decoded[(1, 2)] is torch.float32 and decoded["size"] == (2, 3)


def test_a_parameter_keeps_its_gradient_and_numpy_stays_numpy():
    parameter = torch.nn.Parameter(torch.randn(2, 2))
    parameter.grad = torch.ones(2, 2)
    decoded = round_trip([parameter, np.arange(3.0), np.float32(1.5)])
    assert isinstance(decoded[0], torch.nn.Parameter) and torch.equal(decoded[0].grad, torch.ones(2, 2))
    assert isinstance(decoded[1], np.ndarray) and decoded[1].tolist() == [0.0, 1.0, 2.0]
    assert decoded[2] == 1.5


def test_objects_stay_behind_as_handles():
    handles = {}
    encoded = wire.Encoder(handles).encode(torch.nn.Linear(2, 2))
    assert handles[0].__class__ is torch.nn.Linear
    assert wire.decode(wire.dumps(encoded), lambda *handle: handle) == (0, "torch.nn.modules.linear.Linear", True)


def test_a_tensor_subclass_is_no_answer():
    class Liar(torch.Tensor):
        pass

    with pytest.raises(wire.NotAnAnswer, match="subclass of torch.Tensor"):
        round_trip(torch.zeros(2).as_subclass(Liar))


def tensor_document(**changes):
    body = {"dtype": "float32", "shape": [2], "data": base64.b64encode(b"\0" * 8).decode()}
    body.update(changes)
    return json.dumps({"tensor": body})


@pytest.mark.parametrize("text, reason", [
    (tensor_document(shape=[3]), "wrong number of bytes"),
    (tensor_document(dtype="object"), "dtype the grader does not read"),
    (tensor_document(shape=[-2]), "malformed shape"),
    (tensor_document(data="not base64!"), "malformed data"),
    (json.dumps({"tensor": {"dtype": "float32", "shape": [2], "data": "", "grad": {"tensor": "x"}}}),
     "wrong number of bytes"),
    (json.dumps({"tensor": [1, 2]}), "malformed"),
    (json.dumps({"pickle": "gASV"}), "kind of value that is not plain data"),
    (json.dumps({"tuple": [1], "extra": 2}), "not plain data"),
    (json.dumps({"handle": {"number": "0", "type": "x"}}), "malformed"),
    (json.dumps({"dict": [[[1], 2]]}), "not hashable"),
    ("[" * 5000 + "]" * 5000, "nested too deeply|not JSON"),
    ("{not json", "not JSON"),
])
def test_anything_else_is_refused_with_the_reason(text, reason):
    with pytest.raises(wire.NotAnAnswer, match=reason):
        wire.decode(text, lambda *handle: handle)


@pytest.mark.parametrize("document", [
    {"unsupported": "FORBIDS sigmoid " + "_" * 300},
    {"S1GMOID_hidden": 0},
    {"tensor": {"dtype": "hidden_case_b", "shape": [], "data": ""}},
])
def test_a_refusal_never_repeats_what_the_kernel_wrote(document):
    with pytest.raises(wire.NotAnAnswer) as refused:
        wire.decode(json.dumps(document), lambda *handle: handle)
    assert not {"FORBIDS", "S1GMOID", "hidden"} & set(str(refused.value).replace("_", " ").split())


def test_a_gradient_must_match_its_tensor():
    grad = json.loads(tensor_document(shape=[1], data=base64.b64encode(b"\0" * 4).decode()))
    body = json.loads(tensor_document())
    body["tensor"]["grad"] = grad
    with pytest.raises(wire.NotAnAnswer, match="gradient"):
        wire.decode(json.dumps(body), lambda *handle: handle)


def test_an_oversized_reply_is_refused_before_it_is_parsed(monkeypatch):
    monkeypatch.setattr(wire, "MAX_REPLY_CHARS", 100)
    with pytest.raises(wire.NotAnAnswer, match="larger than"):
        wire.decode(json.dumps("x" * 200), lambda *handle: handle)


@pytest.mark.parametrize("text, reason", [
    ("[" + "[]," * 1_000_000 + "[]]", "more than 1,000,000 values"),  # 3 MB that would cost 80 MB to build
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),  # orjson would crash the process on it
])
def test_a_reply_that_would_cost_too_much_to_read_is_refused(text, reason):
    with pytest.raises(wire.NotAnAnswer, match=reason):
        wire.decode(text, lambda *handle: handle)
    with pytest.raises(wire.TooLarge, match=reason):  # as the grader's reader of kernel messages refuses it
        read_message_part(text.encode())


def test_the_strings_sent_are_recorded():
    seen = []
    wire.decode(json.dumps({"dict": [["key", "value"]]}), lambda *handle: handle, seen)
    assert seen == ["key", "value"]
