"""The exercise framework, shared by the student's `comprobar` (in the kernel) and the judge (apart from it)."""
