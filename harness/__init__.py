"""dl-lab harness: build and launch the lab images, run and grade the labs, benchmark and smoke-test."""

__all__ = ["__version__"]
__version__ = "0.1.0"
