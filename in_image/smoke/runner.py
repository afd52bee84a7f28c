"""Run the smoke checks in order, time each, and build the report."""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from dataclasses import asdict
from typing import Any

import torch

from in_image.junit import Outcome
from in_image.measure.system import driver_version, gpu_absence_reason, gpus, in_container, precision_settings
from in_image.smoke.cases import SCHEMA, CaseResult, with_verdict
from in_image.smoke.checks import Check, CheckFailed, Context, Options, Skip, plan
from in_image.smoke.deep import level2_plan
from in_image.smoke.probe import HealthProbe

log = logging.getLogger(__name__)


def run_check(check: Check, ctx: Context) -> CaseResult:
    started = time.perf_counter()
    details: dict[str, Any] = {}
    outcome: Outcome
    try:
        passed = check.run(ctx)
        outcome, message, details = "passed", passed.message, passed.details
    except Skip as skip:
        outcome, message = "skipped", str(skip)
    except CheckFailed as failure:
        outcome, message, details = "failed", str(failure), failure.details
    except Exception as error:  # an unexpected exception is an error of that check, reported, not raised
        text = str(error).strip()
        outcome, message = "error", f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"
        details = {"traceback": traceback.format_exc()}
    elapsed = time.perf_counter() - started
    # The no-GPU reason was logged once at the start; repeating it on every skipped check hides the rest.
    shown = "no GPU" if outcome == "skipped" and message.startswith("no GPU: ") else message
    log.info("%-7s %-28s %6.2f s  %s", outcome.upper(), check.name, elapsed, shown)
    return CaseResult(check.name, outcome, message, elapsed, details)


def run(*, options: Options, no_gpu_hint: str | None = None) -> dict[str, Any]:
    reason = gpu_absence_reason()
    if reason and no_gpu_hint:
        reason = f"{no_gpu_hint}; inside: {reason}"
    devices = gpus()
    if reason:
        log.info("no GPU: %s", reason)
    probe = HealthProbe.open() if options.level >= 2 and devices else None
    ctx = Context(options=options, gpus=devices, absence_reason=reason, probe=probe)
    try:
        cases = [run_check(check, ctx) for check in [*plan(ctx), *level2_plan(ctx)]]
    finally:
        if probe is not None:
            probe.close()
    report = {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "gpu_found": bool(devices),
        "gpu_absent_reason": reason,
        "environment": {
            "torch": torch.__version__,
            "torch_cuda": torch.version.cuda,
            "driver": driver_version() if devices else None,
            "in_container": in_container(),
            "gpus": [{"index": g.index, "name": g.name, "capability": f"{g.capability[0]}.{g.capability[1]}"} for g in devices],
            "precision": precision_settings(),
            "health_source": probe.source if probe else None,
        },
        "options": asdict(options),
    }
    return with_verdict(report, cases)
