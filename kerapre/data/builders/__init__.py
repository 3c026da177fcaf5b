"""TFDS builders for the image sets that ship inside installable packages (no download).

Importing this package registers them with TFDS, so ``tfds.load("mnist_5k")`` and
``tfds.load("fashion_mnist_local")`` work too.
"""

from kerapre.data.builders.fashion_mnist_local import FashionMnistLocal
from kerapre.data.builders.mnist_5k import Mnist5k

# Each builder has a `locate_sources()` classmethod that raises DataError when its files
# are missing, so callers can fail with a clear message before TFDS starts preparing.
LOCAL_BUILDERS = {
    Mnist5k.name: Mnist5k,
    FashionMnistLocal.name: FashionMnistLocal,
}

__all__ = ["FashionMnistLocal", "LOCAL_BUILDERS", "Mnist5k"]
