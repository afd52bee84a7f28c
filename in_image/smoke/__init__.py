"""GPU node smoke test (`harness smoke`): the checks, run as `python -m in_image.smoke`.

Runs in the lab image, or in the host's Python with --variant local; the host side that starts
the container is harness.engine.module_run.
"""
