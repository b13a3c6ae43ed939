"""The core: the lecture's mathematics in NumPy, short enough to read in one sitting.

Activations and losses as (value, derivative) pairs in name → object registries, weight
initializers, the :class:`~retroprop.core.network.Network` (forward, backward, blocked
inference), the optimizers' step rules (state in, state out), metrics (accuracy, epoch sums) and
the finite-difference gradient check. Everything else in retroprop is built on this package.

May import: NumPy and SciPy only (and :mod:`retroprop.errors`) — never another retroprop
package.
"""
