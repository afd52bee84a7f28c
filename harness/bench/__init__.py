"""CPU vs GPU benchmark (`harness bench`): the part that runs inside the lab image.

Modules here import only the standard library, torch, numpy and matplotlib, because they run
inside the image (`python -m harness.bench`) as well as in the host's Python (--variant local).
The host-side orchestration that starts the container lives in harness/bench/host.py and is never
imported from in here.
"""
