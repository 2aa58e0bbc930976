#!/usr/bin/env python3
"""Builds the example Snake models, their reference outputs and the broken test models.

The models follow the contract in docs/models.md: input `board`, float32 [N, 7, H, W] (the
planes of nets_envs::snake::observation), output `logits`, float32 [N, 4] (up, down, left,
right). Weights come from numpy's seeded generator, so every run writes the same files.

Regenerate (from the repository root; needs only the pinned `onnx` and `numpy`):

    python3 -m venv /tmp/nets-models && /tmp/nets-models/bin/pip install -r models/requirements.txt
    /tmp/nets-models/bin/python models/make_models.py

Writes:
    models/snake-conv.onnx   small convolutional policy; any board size (dynamic N, H, W)
    models/snake-mlp.onnx    a different architecture: flatten, two dense layers; 11x11 only
    models/reference.json    sample boards and both models' outputs on them, computed by the
                             plain numpy implementation below (not by onnxruntime), which the
                             Rust tests compare ONNX Runtime's outputs with
    models/test/*.onnx       models that break the contract, for the tests: a malformed file,
                             wrong input planes, a wrong input name, a wrong output width, a
                             float64 input, a fixed batch size of 1, and a model whose output turns NaN mid-game
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
PLANES = 7
OPSET = 17
IR_VERSION = 8  # the IR version of opset 17; every ONNX Runtime since 1.13 reads it

# Sizes of the convolutional policy: 7 -> CONV1 -> CONV2 channels, then 4 logits.
CONV1 = 8
CONV2 = 8
# Hidden width of the MLP.
HIDDEN = 32
BOARD = 11


# --- building ONNX graphs -----------------------------------------------------------------


def board_input(h="H", w="W", planes=PLANES, name="board", dtype=TensorProto.FLOAT, batch="N"):
    return helper.make_tensor_value_info(name, dtype, [batch, planes, h, w])


def logits_output(width=4, name="logits"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", width])


def init(name, array):
    return numpy_helper.from_array(np.ascontiguousarray(array), name)


def save(graph, filename, doc):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="nets models/make_models.py",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(HERE, filename)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


# --- the two example models ---------------------------------------------------------------


def plane_scale():
    """Per-plane input scale folded into the first layer: health (0..100) and body counters
    (up to the snake's length) are brought to about the range of the 0/1 planes."""
    return np.array([1.0, 0.1, 1.0, 0.1, 1.0, 1.0, 0.01], dtype=np.float64)


def conv_weights():
    rng = np.random.default_rng(20240501)
    w1 = rng.normal(0.0, np.sqrt(2.0 / (PLANES * 9)), (CONV1, PLANES, 3, 3))
    w1 = w1 * plane_scale()[None, :, None, None]
    b1 = rng.normal(0.0, 0.05, CONV1)
    w2 = rng.normal(0.0, np.sqrt(2.0 / (CONV1 * 9)), (CONV2, CONV1, 3, 3))
    b2 = rng.normal(0.0, 0.05, CONV2)
    w3 = rng.normal(0.0, np.sqrt(1.0 / CONV2), (4, CONV2))
    b3 = rng.normal(0.0, 0.05, 4)
    return [a.astype(np.float32) for a in (w1, b1, w2, b2, w3, b3)]


def make_conv():
    w1, b1, w2, b2, w3, b3 = conv_weights()
    nodes = [
        helper.make_node("Conv", ["board", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
        helper.make_node("Gemm", ["features", "w3", "b3"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "snake-conv",
        [board_input()],
        [logits_output()],
        [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2), init("w3", w3), init("b3", b3)],
    )
    return save(
        graph,
        "snake-conv.onnx",
        f"nets example Snake policy: Conv {PLANES}->{CONV1} 3x3, Relu, Conv {CONV1}->{CONV2} 3x3, "
        "Relu, GlobalAveragePool, Gemm -> 4 logits (up, down, left, right). Any board size. "
        "Seeded random weights: an example of the contract, not a strong player.",
    )


def mlp_weights():
    rng = np.random.default_rng(20240502)
    inputs = PLANES * BOARD * BOARD
    scale = np.repeat(plane_scale(), BOARD * BOARD)
    w1 = rng.normal(0.0, np.sqrt(1.0 / inputs), (inputs, HIDDEN)) * scale[:, None]
    b1 = rng.normal(0.0, 0.05, HIDDEN)
    w2 = rng.normal(0.0, np.sqrt(1.0 / HIDDEN), (HIDDEN, 4))
    b2 = rng.normal(0.0, 0.05, 4)
    return [a.astype(np.float32) for a in (w1, b1, w2, b2)]


def make_mlp():
    w1, b1, w2, b2 = mlp_weights()
    nodes = [
        helper.make_node("Flatten", ["board"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w1", "b1"], ["h1"]),
        helper.make_node("Tanh", ["h1"], ["a1"]),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["h2"]),
        helper.make_node("Sigmoid", ["h2"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "snake-mlp",
        [board_input(BOARD, BOARD)],
        [logits_output()],
        [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2)],
    )
    return save(
        graph,
        "snake-mlp.onnx",
        f"nets example Snake policy: Flatten, Gemm {PLANES * BOARD * BOARD}->{HIDDEN}, Tanh, "
        f"Gemm {HIDDEN}->4, Sigmoid. {BOARD}x{BOARD} boards only. Seeded random weights.",
    )


# --- the independent numpy implementation -------------------------------------------------


def conv2d_same(x, w, b):
    """x [N, C, H, W], w [K, C, 3, 3], b [K]; stride 1, padding 1."""
    n, c, h, wd = x.shape
    padded = np.zeros((n, c, h + 2, wd + 2))
    padded[:, :, 1:-1, 1:-1] = x
    out = np.zeros((n, w.shape[0], h, wd))
    for dy in range(3):
        for dx in range(3):
            patch = padded[:, :, dy : dy + h, dx : dx + wd]
            out += np.einsum("nchw,kc->nkhw", patch, w[:, :, dy, dx])
    return out + b[None, :, None, None]


def conv_reference(boards):
    w1, b1, w2, b2, w3, b3 = (a.astype(np.float64) for a in conv_weights())
    x = np.maximum(conv2d_same(boards, w1, b1), 0.0)
    x = np.maximum(conv2d_same(x, w2, b2), 0.0)
    x = x.mean(axis=(2, 3))
    return x @ w3.T + b3


def mlp_reference(boards):
    w1, b1, w2, b2 = (a.astype(np.float64) for a in mlp_weights())
    x = boards.reshape(boards.shape[0], -1)
    x = np.tanh(x @ w1 + b1)
    return 1.0 / (1.0 + np.exp(-(x @ w2 + b2)))


# --- sample boards -------------------------------------------------------------------------


def encode(position):
    """The observation planes of `position` (a Battlesnake move request) for its `you` snake,
    written from the plane table of nets_envs::snake::observation, independently of it."""
    board = position["board"]
    w, h = board["width"], board["height"]
    out = np.zeros((PLANES, h, w))
    you = next(s for s in board["snakes"] if s["id"] == position["you"]["id"])

    def put(plane, cell, value):
        x, y = cell["x"], cell["y"]
        if 0 <= x < w and 0 <= y < h:
            row = h - 1 - y
            out[plane, row, x] = max(out[plane, row, x], value)

    for snake in board["snakes"]:
        own = snake["id"] == you["id"]
        head_plane, body_plane = (0, 1) if own else (2, 3)
        put(head_plane, snake["body"][0], 1.0)
        n = len(snake["body"])
        for k, cell in enumerate(snake["body"]):
            put(body_plane, cell, float(n - k))
        if not own and n >= len(you["body"]):
            put(5, snake["body"][0], 1.0)
    for cell in board["food"]:
        put(4, cell, 1.0)
    out[6, :, :] = float(you["health"])
    return out


def snake(id_, health, cells):
    body = [{"x": x, "y": y} for x, y in cells]
    return {"id": id_, "health": health, "body": body, "head": body[0], "length": len(body)}


def position(width, height, food, snakes, you=0, turn=0):
    return {
        "game": {"id": "reference", "ruleset": {"name": "standard" if len(snakes) > 1 else "solo"}},
        "turn": turn,
        "board": {
            "width": width,
            "height": height,
            "food": [{"x": x, "y": y} for x, y in food],
            "snakes": snakes,
        },
        "you": snakes[you],
    }


def sample_cases():
    """Boards given as positions (the tests rebuild each board with the Rust encoder and
    check it equals the one here) and, to exercise every input value, seeded noise."""
    cases = [
        {
            "name": "start of a duel",
            "position": position(
                11, 11, [(5, 5), (0, 2), (10, 8)],
                [snake("a", 100, [(1, 1)] * 3), snake("b", 100, [(9, 9)] * 3)],
            ),
        },
        {
            "name": "mid-game duel, the opponent is longer",
            "position": position(
                11, 11, [(5, 5), (2, 9)],
                [
                    snake("a", 71, [(3, 4), (3, 3), (2, 3), (2, 2)]),
                    snake("b", 88, [(6, 6), (6, 7), (7, 7), (8, 7), (8, 8), (8, 8)]),
                ],
                turn=40,
            ),
        },
        {
            "name": "the same board from the other snake",
            "position": position(
                11, 11, [(5, 5), (2, 9)],
                [
                    snake("a", 71, [(3, 4), (3, 3), (2, 3), (2, 2)]),
                    snake("b", 88, [(6, 6), (6, 7), (7, 7), (8, 7), (8, 8), (8, 8)]),
                ],
                you=1,
                turn=40,
            ),
        },
        {
            "name": "four-snake free-for-all at an edge",
            "position": position(
                11, 11, [(0, 0), (10, 10), (5, 0)],
                [
                    snake("a", 12, [(0, 5), (0, 4), (1, 4), (1, 3), (1, 2)]),
                    snake("b", 55, [(5, 9), (5, 8), (5, 7)]),
                    snake("c", 90, [(9, 1), (8, 1), (7, 1), (6, 1), (5, 1), (4, 1)]),
                    snake("d", 100, [(9, 5), (9, 5), (9, 5)]),
                ],
                turn=17,
            ),
        },
        {
            "name": "solo on a 7x7 board",
            "position": position(7, 7, [(3, 3)], [snake("a", 64, [(1, 5), (1, 4), (2, 4)])], turn=9),
        },
    ]
    for case in cases:
        case["board"] = encode(case["position"])
    rng = np.random.default_rng(7)
    for i in range(2):
        noise = rng.integers(0, 4, (PLANES, BOARD, BOARD)).astype(np.float64)
        noise[6] = rng.integers(0, 101)
        cases.append({"name": f"noise {i}", "board": noise})
    return cases


def reference(cases):
    out = []
    for case in cases:
        board = case["board"]
        entry = {"name": case["name"]}
        if "position" in case:
            entry["position"] = case["position"]
        entry["shape"] = list(board.shape)
        entry["board"] = [int(v) for v in board.reshape(-1)]
        logits = {"snake-conv.onnx": conv_reference(board[None])[0]}
        if board.shape[1:] == (BOARD, BOARD):
            logits["snake-mlp.onnx"] = mlp_reference(board[None])[0]
        entry["logits"] = {k: [round(float(v), 9) for v in vals] for k, vals in logits.items()}
        out.append(entry)
    return out


def write_reference():
    doc = {
        "about": "Sample boards (observation planes, flattened row-major, shape [7, H, W]) and "
        "each example model's logits on them, computed by models/make_models.py with plain "
        "numpy (float64), not by ONNX Runtime. Cases with a `position` are Battlesnake move "
        "requests; their `board` is the observation of the `you` snake.",
        "cases": reference(sample_cases()),
    }
    path = os.path.join(HERE, "reference.json")
    # One line per case, so the file stays short and a diff names the case that changed.
    cases = ",\n".join("  " + json.dumps(case) for case in doc["cases"])
    text = '{\n "about": %s,\n "cases": [\n%s\n ]\n}' % (json.dumps(doc["about"]), cases)
    with open(path, "w") as f:
        f.write(text + "\n")
    return path


# --- models that break the contract --------------------------------------------------------


def small_policy(name, inp, out_width=4, in_planes=PLANES, output_name="logits"):
    """A tiny valid graph shape for the broken-contract models: global average pool, Gemm."""
    w = np.full((out_width, in_planes), 0.1, dtype=np.float32)
    b = np.arange(out_width, dtype=np.float32)
    nodes = [
        helper.make_node("GlobalAveragePool", [inp.name], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
        helper.make_node("Gemm", ["features", "w", "b"], ["scores"], transB=1),
    ]
    nodes.append(helper.make_node("Identity", ["scores"], [output_name]))
    if inp.type.tensor_type.elem_type != TensorProto.FLOAT:
        # Every kernel used exists for float32 only: cast the input first.
        nodes.insert(0, helper.make_node("Cast", [inp.name], ["as_float"], to=TensorProto.FLOAT))
        nodes[1].input[0] = "as_float"
    return helper.make_graph(nodes, name, [inp], [logits_output(out_width, output_name)], [init("w", w), init("b", b)])


def make_nan_midgame():
    """logits = log(mean health - 97.5) + [0, 1, 2, 3]: finite while the health is above 97.5
    (the first turns of a game), NaN after."""
    nodes = [
        helper.make_node("Slice", ["board", "starts", "ends", "axes"], ["health"]),
        helper.make_node("ReduceMean", ["health"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Flatten", ["mean"], ["mean2"], axis=1),
        helper.make_node("Sub", ["mean2", "threshold"], ["shifted"]),
        helper.make_node("Log", ["shifted"], ["log"]),
        helper.make_node("Add", ["log", "bias"], ["logits"]),
    ]
    inits = [
        init("starts", np.array([6], dtype=np.int64)),
        init("ends", np.array([7], dtype=np.int64)),
        init("axes", np.array([1], dtype=np.int64)),
        init("threshold", np.array([97.5], dtype=np.float32)),
        init("bias", np.array([0.0, 1.0, 2.0, 3.0], dtype=np.float32)),
    ]
    graph = helper.make_graph(nodes, "nan-midgame", [board_input()], [logits_output()], inits)
    save(graph, "test/nan-midgame.onnx", "Outputs NaN once the player's health is below 97.5.")


def make_bad_models():
    save(small_policy("wrong-planes", board_input(planes=6), in_planes=6), "test/wrong-planes.onnx",
         "Input board has 6 planes instead of 7.")
    save(small_policy("wrong-name", board_input(name="x")), "test/wrong-input-name.onnx",
         "Input named x instead of board.")
    save(small_policy("wrong-output", board_input(), out_width=5), "test/wrong-output.onnx",
         "Output logits has 5 columns instead of 4.")
    save(small_policy("wrong-dtype", board_input(dtype=TensorProto.DOUBLE)),
         "test/wrong-dtype.onnx", "Input board is float64 instead of float32.")
    save(small_policy("wrong-batch", board_input(batch=1)), "test/wrong-batch.onnx",
         "Input board has a fixed batch dimension of 1.")
    make_nan_midgame()
    # Not ONNX at all: a header and a truncated protobuf.
    with open(os.path.join(HERE, "snake-conv.onnx"), "rb") as f:
        truncated = f.read()[:200]
    with open(os.path.join(HERE, "test", "malformed.onnx"), "wb") as f:
        f.write(b"this is not an ONNX model\n" + truncated)


def main():
    written = [make_conv(), make_mlp(), write_reference()]
    make_bad_models()
    for path in written:
        print(f"{os.path.relpath(path, os.path.dirname(HERE))}: {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
