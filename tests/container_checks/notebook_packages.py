"""The packages a notebook user expects import (widgets, progress bars, data frames); ipywidgets' release."""

import ipywidgets
import pandas  # noqa: F401
import tqdm.auto  # noqa: F401

print(ipywidgets.__version__)
