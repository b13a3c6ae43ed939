"""The glass box: every quantity of a training step recorded as data — the step's numbers
(``records``, importing nothing else of the glass box), the tracer that fills them in
(``trace``), their JSON form (``trace_json``, with the schema in ``schemas/``), diagnostics
(saturated or dead neurons, exploding steps), the lecture's equations filled in with the actual
numbers, and the recorder that keeps a run's history for the report. Nothing here prints or
draws: views do.

May import: :mod:`retroprop.core` and :mod:`retroprop.train`.
"""
