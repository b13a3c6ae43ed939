"""Files retroprop writes and reads: the :class:`~retroprop.files.model.Model` a model file
holds, the model file and the checkpoint file (zip archives of arrays plus a strictly validated
JSON header, never pickle), the hand-written network JSON file, ONNX export and atomic writes.

May import: :mod:`retroprop.core`, :mod:`retroprop.data` and :mod:`retroprop.train`.
"""
