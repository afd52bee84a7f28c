"""What a student's kernel can reach of the answer key and the hidden cases: run inside a kernel, prints one line.

Exec'd in a kernel cell (or a script) with CANARIES defined: the strings planted in the answer key
and the hidden tests. Prints "REACH " + JSON: which judge-only modules import, which judge-only paths
open, which reachable Python files define a reference computation, and which readable files hold a
canary. Everything here is what any code in the notebook could do.
"""

import ast
import importlib
import json
import os
import sys

JUDGE_ROOT = "/opt/dl-lab-judge"
MODULES = ("answer_key", "answer_key.reference", "answer_key.lab00", "answer_key.lab01", "answer_key.lab02",
           "answer_key.lab03", "in_image.exercises.reference")
# The answer key's computations and data-set rebuilders: no module the kernel can import may define them.
REFERENCE_NAMES = {"train_epochs", "mlp_forward", "cross_entropy", "lenet_forward", "conv2d", "pool2d", "digit_split",
                   "shifted_digits", "split_indices", "test_set", "bilinear_matrix", "expect", "training_runs",
                   # lab 03's: FLOPs, intensities, the roofline, fp16's round trip, shifts, a trace's self times, budgets
                   "lenet_macs", "lenet_flops", "add_intensity", "matmul_intensity", "roofline", "fp16_round_trip",
                   "shifted_image", "image_shift", "augmented", "self_times", "total_times", "top_operators",
                   "budget_steps"}
# The benchmark's conv2d is a timed workload (torch), not an answer.
NOT_ANSWERS = ("/opt/dl-lab/in_image/bench/",)
SCANNED = ("/opt/dl-lab", "/opt/labs", JUDGE_ROOT, "/home", "/tmp", "/etc", "/usr/local/bin")


def _imports() -> dict[str, str]:
    found = {}
    sys.path.insert(0, JUDGE_ROOT)  # what a forger would try first
    try:
        for name in MODULES:
            try:
                importlib.import_module(name)
                found[name] = "imported"
            except BaseException as error:
                found[name] = type(error).__name__
    finally:
        sys.path.remove(JUDGE_ROOT)
    return found


def _opens() -> dict[str, str]:
    found = {}
    for path in (JUDGE_ROOT, f"{JUDGE_ROOT}/answer_key", f"{JUDGE_ROOT}/answer_key/__init__.py",
                 f"{JUDGE_ROOT}/answer_key/reference.py"):
        try:
            if os.path.isdir(path) or path == JUDGE_ROOT:
                os.listdir(path)
            else:
                with open(path, "rb") as handle:
                    handle.read(1)
            found[path] = "read"
        except OSError as error:
            found[path] = type(error).__name__
    return found


def _python_files() -> list[str]:
    roots = [p for p in sys.path if p.startswith("/opt/dl-lab") or p.startswith("/opt/labs")] + ["/opt/dl-lab"]
    files = []
    for root in dict.fromkeys(roots):
        for folder, _, names in os.walk(root):
            files += [os.path.join(folder, n) for n in names
                      if n.endswith(".py") and not os.path.join(folder, "").startswith(NOT_ANSWERS)]
    return files


def _reference_definitions() -> list[str]:
    found = []
    for path in _python_files():
        try:
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        found += [f"{path}:{node.name}" for node in ast.walk(tree)
                  if isinstance(node, ast.FunctionDef) and node.name in REFERENCE_NAMES]
    return found


def _canaries(canaries: tuple[str, ...]) -> list[str]:
    wanted = [c.encode() for c in canaries]
    found = []
    for root in SCANNED:
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                try:
                    if os.path.getsize(path) > 50_000_000:
                        continue
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                found += [path for c in wanted if c in data]
    return found


def reach(canaries: tuple[str, ...]) -> dict[str, object]:
    return {"uid": os.getuid(), "judge_on_path": any(p.startswith(JUDGE_ROOT) for p in sys.path),
            "imports": _imports(), "opens": _opens(), "reference_definitions": _reference_definitions(),
            "canaries": _canaries(canaries)}


print("REACH " + json.dumps(reach(CANARIES)))  # type: ignore[name-defined]  # noqa: F821 (defined by the caller)
