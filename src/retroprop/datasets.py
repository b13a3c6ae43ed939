"""``retroprop.datasets``: the bundled data sets (public name; they live in
:mod:`retroprop.data.datasets`)."""

from __future__ import annotations

from retroprop.data.datasets import *  # noqa: F403
from retroprop.data.datasets import __all__ as __all__
