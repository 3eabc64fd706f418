"""Type aliases of the public signatures (imported under ``TYPE_CHECKING`` only: the
annotations are postponed, so none of this is evaluated at run time)."""

from typing import Any, Callable, Optional, Union

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ArrayLike", "Shape", "Seed", "Callback", "Matrix", "Any", "Callable", "Optional",
           "Union"]

#: a shape: an int (a vector) or a tuple of ints
Shape = Union[int, tuple[int, ...]]
#: a seed of the random generators, as scikit-learn's ``random_state``
Seed = Union[None, int, np.random.Generator, np.random.RandomState]
#: ``callback(intermediate_result) -> bool | None``
Callback = Callable[[Any], Optional[bool]]
#: a dense array, a scipy.sparse matrix or a scipy.sparse.linalg.LinearOperator
Matrix = Any
