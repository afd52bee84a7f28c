"""Unit tests of the smoke test: tolerances, architecture matching, exit codes, JUnit and JSON reports (no Docker)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import torch

from harness.cli import main as cli_main
from harness.commands.smoke import granted_but_invisible
from in_image.smoke import codes
from in_image.smoke.__main__ import main as smoke_main
from in_image.smoke.cases import CaseResult, exit_code, with_verdict
from in_image.smoke.numerics import MATMUL_TOLERANCE, arch_supported, relative_error, round_to_tf32
from in_image.smoke.report import write_smoke_reports
from tests.utils.schemas import schema

ARCHS = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "compute_90"]


@pytest.mark.parametrize(
    ("capability", "arch_list", "supported", "how"),
    [
        ((9, 0), ARCHS, True, "in the build's arch list"),
        ((8, 9), ARCHS, True, "sm_86 binaries"),  # Ada runs Ampere cubins
        ((10, 0), ARCHS, True, "compute_90 PTX"),  # Blackwell: only by JIT from PTX
        ((12, 0), ["sm_80", "sm_90"], False, "not supported"),
        ((9, 0), ["sm_90a"], False, "not supported"),  # arch-specific cubins are not portable
        ((7, 5), ["sm_80", "sm_90"], False, "not supported"),  # an older GPU than the build
        ((8, 0), [], False, "arch list: empty"),
    ],
)
def test_arch_supported(capability: tuple[int, int], arch_list: list[str], supported: bool, how: str) -> None:
    ok, text = arch_supported(capability, arch_list)
    assert ok is supported, f"capability {capability} with {arch_list}: {text}"
    assert how in text


def _matmul_error(precision: str, n: int = 256) -> float:
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=generator), torch.randn(n, n, generator=generator)
    reference = a.double() @ b.double()
    if precision == "bf16":
        return relative_error(a.bfloat16() @ b.bfloat16(), reference)
    if precision.startswith("tf32"):
        truncate = precision == "tf32-truncated"
        return relative_error(round_to_tf32(a, truncate=truncate) @ round_to_tf32(b, truncate=truncate), reference)
    return relative_error(a @ b, reference)


# Each precision's error must pass its own bar and fail every finer one (a GPU silently running
# fp32 as TF32, or TF32 as bf16, must be caught). TF32 is emulated by rounding the inputs.
@pytest.mark.parametrize(
    ("precision", "bar", "finer_bars"),
    [
        ("fp32", "fp32", []),
        ("tf32", "tf32", ["fp32"]),
        ("tf32-truncated", "tf32", ["fp32"]),
        ("bf16", "bf16", ["fp32", "tf32"]),
    ],
)
def test_tolerances_separate_the_precisions(precision: str, bar: str, finer_bars: list[str]) -> None:
    error = _matmul_error(precision)
    assert error <= MATMUL_TOLERANCE[bar], f"{precision} error {error:.2e} must pass the {bar} bar {MATMUL_TOLERANCE[bar]:.0e}"
    for finer in finer_bars:
        assert error > MATMUL_TOLERANCE[finer], f"{precision} error {error:.2e} must fail the {finer} bar"


def _case(outcome: str) -> CaseResult:
    return CaseResult(f"check_{outcome}", outcome, "m", 0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcomes", "gpu_found", "expected"),
    [
        (["passed", "passed"], True, codes.OK),
        (["passed", "skipped"], False, codes.NO_GPU),
        (["passed", "failed"], True, codes.FAILED),
        (["failed", "skipped"], False, codes.FAILED),  # broken beats absent
        (["error"], True, codes.FAILED),
    ],
)
def test_exit_codes(outcomes: list[str], gpu_found: bool, expected: int) -> None:
    assert exit_code([_case(o) for o in outcomes], gpu_found=gpu_found) == expected


def test_junit_report_is_valid(tmp_path: Path) -> None:
    cases = [
        CaseResult("gpu_visible", "skipped", "no GPU: test", 0.0),
        CaseResult("matmul_fp32[cpu]", "passed", "ok", 0.02),
        CaseResult("memory_alloc[cuda:0]", "failed", "out of memory", 0.5, {"free_gib": 1.0}),
        CaseResult("nccl", "error", "RuntimeError: x", 0.1, {"traceback": "Traceback ...\nRuntimeError: x"}),
    ]
    report = with_verdict(
        {"schema": "dl-lab.smoke/1", "created": "t", "gpu_found": True, "gpu_absent_reason": None, "environment": {}}, cases
    )
    jsonschema.validate(report, schema("smoke-report"))
    paths = write_smoke_reports(report, tmp_path)
    suite = ET.parse(paths["junit"]).getroot()
    assert suite.tag == "testsuite"
    assert suite.get("tests") == "4"
    assert suite.get("failures") == "1"
    assert suite.get("errors") == "1"
    assert suite.get("skipped") == "1"
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == [c.name for c in cases], "JUnit keeps the checks' order"
    assert all(float(case.get("time", "-1")) >= 0 for case in suite.iter("testcase")), "every case carries its time"
    error = suite.find("testcase[@name='nccl']/error")
    assert error is not None and "Traceback" in (error.text or ""), "an error case carries its traceback"
    assert json.loads(paths["json"].read_text())["exit_code"] == codes.FAILED


def test_local_run_without_gpu_exits_no_gpu(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: see tests/test_smoke_gpu.py")
    code = smoke_main(["--reports", str(tmp_path)])
    report = json.loads((tmp_path / "smoke.json").read_text())
    jsonschema.validate(report, schema("smoke-report"))
    assert code == codes.NO_GPU, f"no GPU must exit {codes.NO_GPU}, got {code}: {report['verdict']}"
    outcomes = {case["name"]: case["outcome"] for case in report["cases"]}
    assert outcomes["matmul_fp32[cpu]"] == "passed" and outcomes["training_step[cpu]"] == "passed", outcomes
    assert outcomes["gpu_visible"] == "skipped" and report["gpu_absent_reason"], "the GPU checks are skipped with a reason"


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["smoke", "--memory-fraction", "2"], "must lie in (0, 0.95]"),
        (["smoke", "--min-copy-gbps", "fast"], "expected a number"),
        (["smoke", "--level", "3"], "must be one of 1, 2"),
        (["smoke", "--level", "2", "--gemm-seconds", "0"], "must be positive"),
        (["smoke", "--min-hbm-fraction", "1.5"], "must lie in (0, 0.95]"),
        (["gpu-check", "--budget", "-1"], "must be positive"),
        (["bench", "--threads", "0"], "must be at least 1"),
        (["bench", "--variant", "tpu"], "invalid choice"),
    ],
)
def test_bad_options_get_a_one_line_error(argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert complaint in error and len(error.strip().splitlines()) == 1, f"expected one line with {complaint!r}: {error!r}"


def test_a_granted_gpu_that_torch_cannot_see_is_a_failure() -> None:
    report = {"gpu_found": False, "gpu_absent_reason": "CUDA failed to initialise: driver too old"}
    cases = [CaseResult("gpu_visible", "skipped", "no GPU: x", 0.0), CaseResult("nccl", "skipped", "no GPU: x", 0.0)]
    fixed = [granted_but_invisible(case, report) for case in cases]
    assert [c.outcome for c in fixed] == ["failed", "skipped"], "only gpu_visible turns into a failure"
    assert "driver too old" in fixed[0].message
    assert exit_code(fixed, gpu_found=False) == codes.FAILED, "a broken GPU node must not exit 'no GPU'"
