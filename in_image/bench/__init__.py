"""CPU vs GPU benchmark (`harness bench`): the workloads and the report, run as `python -m in_image.bench`.

Runs in the lab image, or in the host's Python with --variant local; the host side that starts
the container is harness.engine.module_run.
"""
