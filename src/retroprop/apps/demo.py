"""The lecture's example, end to end: digits through hidden layers of 10 and 5 sigmoid neurons.

scikit-learn's bundled 8×8 digits (1,797 images, no download) are scaled to [0, 1] and split
into a fixed stratified training set (80 %) and test set (20 %); 10 % of the training set is
held out for validation. The network 64 → 10 → 5 → 10, all sigmoid, learns with the lecture's
per-sample squared error and online updates (one weight change after every sample). Online
updates make the error jump from epoch to epoch, so the demo keeps the weights of the epoch with
the lowest validation MSE (model selection on the validation set, never on the test set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from retroprop.core.network import Network
from retroprop.data.datasets import load_digits
from retroprop.train.loop import Callback, EarlyStopping, History, accuracy, fit

__all__ = ["DemoResult", "run_demo"]

HIDDEN = (10, 5)


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced.

    Attributes:
        network: the trained network.
        history: per-epoch training record.
        test_accuracy: fraction of the test images classified right.
        confusion: confusion matrix, (10, 10), rows true digit, columns predicted.
        best_epoch: the epoch whose weights were kept (lowest validation MSE).
        n_train: size of the training set.
        n_validation: size of the validation set.
        n_test: size of the test set.
        seconds: wall time of training.
    """

    network: Network
    history: History
    test_accuracy: float
    confusion: NDArray[np.int64]
    best_epoch: int
    n_train: int
    n_validation: int
    n_test: int
    seconds: float


def run_demo(
    epochs: int = 50,
    learning_rate: float = 0.3,
    seed: int = 0,
    callbacks: Sequence[Callback] = (),
) -> DemoResult:
    """Train the lecture's digit network and measure it on the held-out test set."""
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import train_test_split

    data = load_digits(scale=True)
    X_train, X_test, Y_train, Y_test = train_test_split(
        data.X, data.y, test_size=0.2, stratify=data.labels, random_state=0
    )
    X_train, X_val, Y_train, Y_val = train_test_split(
        X_train, Y_train, test_size=0.1, stratify=Y_train.argmax(axis=1), random_state=0
    )
    network = Network.create(
        [64, *HIDDEN, 10], activation="sigmoid", loss="squared_error", seed=seed
    )
    keep_best = EarlyStopping(monitor="val_mse", patience=epochs, restore_best_weights=True)
    history = fit(
        network,
        X_train,
        Y_train,
        optimizer="sgd",
        learning_rate=learning_rate,
        epochs=epochs,
        batch_size=1,
        seed=seed,
        validation_data=(X_val, Y_val),
        callbacks=[*callbacks, keep_best],
    )
    O = network.predict(X_test)
    confusion = confusion_matrix(Y_test.argmax(axis=1), O.argmax(axis=1), labels=range(10))
    return DemoResult(
        network=network,
        history=history,
        test_accuracy=accuracy(Y_test, O),
        confusion=confusion.astype(np.int64),
        best_epoch=keep_best.best_epoch,
        n_train=len(X_train),
        n_validation=len(X_val),
        n_test=len(X_test),
        seconds=history["time"][-1],
    )
