"""Data in: CSV reading into a :class:`~retroprop.data.tabular.Table` (and FANN's training-data
files: :mod:`~retroprop.data.fann`, which also picks the reader by content), column encoders, the
preprocessing a model stores (scaling, one-hot categories, missing values, label encoding), the
strict JSON helpers the file readers share, and the bundled data sets (generated or shipped
with scikit-learn; nothing is downloaded).

May import: nothing of retroprop's but :mod:`retroprop.errors` (NumPy, the standard library and
scikit-learn's bundled data only).
"""
