"""The training report: what happened during training, in figures and in words.

Record while training, report afterwards::

    import retroprop as rp
    from retroprop.views.report import Recorder, write_report

    data = rp.datasets.moons()
    net = rp.Network.create([2, 8, 1], seed=0)
    history = rp.fit(net, data.X, data.y, learning_rate=0.5, epochs=100,
                     callbacks=[Recorder(data.X, data.y)])
    write_report("report.html", net, history, data.X, data.y, lang="es", png_dir="figures")

- :mod:`.recorder`: :class:`Recorder`, the callback that measures mean |δ| and saturated /
  dead units per layer after every epoch, while the weights of that epoch still exist;
- :mod:`.findings`: what the history says (saturated or dead units, vanishing or exploding δ,
  an oscillating error), as data and in English or Spanish;
- :mod:`.figures`: the matplotlib figures (imported on use);
- :mod:`.page`: :func:`write_report`, the self-contained HTML page.
"""

from __future__ import annotations

from retroprop.glassbox.recorder import Recorder
from retroprop.views.report.findings import diagnose_training, finding_text
from retroprop.views.report.page import FIGURES, write_report

__all__ = ["FIGURES", "Recorder", "diagnose_training", "finding_text", "write_report"]
