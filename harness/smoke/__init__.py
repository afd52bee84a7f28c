"""GPU node smoke test (`harness smoke`): the part that runs inside the lab image.

Only the standard library and torch here (plus harness.bench's in-image modules and harness.junit),
because it runs inside the image as `python -m harness.smoke` as well as in the host's Python.
"""
