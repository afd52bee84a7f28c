"""What the image holds besides torch, for the reports' environment: torchvision's release, or why it is absent.

The image build records the reason in DL_LAB_TORCHVISION (and the label org.dl-lab.torchvision) when the
package sources had no torchvision build for the image's torch (e.g. no +cpu build beside torch+cpu).
"""

from __future__ import annotations

import os
from importlib import metadata


def torchvision_status() -> str:
    """'0.28.0', '0.28.0+cpu', or 'absent: <why>'."""
    try:
        return metadata.version("torchvision")
    except metadata.PackageNotFoundError:
        recorded = os.environ.get("DL_LAB_TORCHVISION", "")
        return recorded if recorded.startswith("absent") else "absent: not installed"
