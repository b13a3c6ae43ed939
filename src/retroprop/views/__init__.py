"""Views: what a person reads or looks at — the English/Spanish words (i18n), the terminal
explanation of a step, the step-through page, the training report and its figures, and plots.
Views read traces, histories and models; they never compute the mathematics themselves.

May import: :mod:`retroprop.glassbox`, :mod:`retroprop.train`, :mod:`retroprop.data`,
:mod:`retroprop.files` and :mod:`retroprop.core`.
"""
