"""Files retroprop writes and reads.

- ``limits``: the sizes every reader checks and every writer respects; ``archive``: the one
  zip-archive reader/writer (a strictly validated JSON header plus .npy arrays, never pickle)
  that ``model_file`` and ``checkpoint_file`` are built on; ``header_schema`` and
  ``checkpoint_header``: the strict checks of their JSON headers;
- ``model``: the :class:`~retroprop.files.model.Model` a model file holds; ``model_file``: that
  file; ``checkpoint_file``: a training checkpoint (a model file plus the train state);
  ``loader``: :func:`~retroprop.files.loader.load_model`, which reads either;
- ``regular``: opening a model or checkpoint, refusing pipes and devices before reading;
- ``checkpointer``: the training callback that writes checkpoints during a run;
- ``network_file``: the hand-written network JSON file; ``fann_net``: FANN's network files
  (``.net``) read and written; ``fann_model``: one as a model (``import_fann``) and a model as
  one (``export_fann``); ``onnx_export``; ``atomic``: atomic
  writes, and the rules of what may be written over (links, devices, inputs, ``--force``).

May import: :mod:`retroprop.core`, :mod:`retroprop.data` and :mod:`retroprop.train`.
"""
