"""Exit codes of `harness smoke`, distinct so a CPU-only CI job can tell "no GPU" from "GPU broken"."""

OK = 0  # every check passed and at least one GPU was tested
FAILED = 1  # at least one check failed or raised
# 2 is the harness's own error (bad input, no engine, image not built): see harness.errors.HarnessError.
NO_GPU = 3  # nothing failed, but no GPU was found (the GPU checks were skipped, with the reason)

MEANING = {
    OK: "all checks passed",
    FAILED: "a check failed",
    2: "the harness could not run the checks",
    NO_GPU: "no GPU present (GPU checks skipped)",
}
