"""Reading and writing arrays: .npy, .npz (dense or sparse), .mtx, .csv and .txt."""

import os
import stat
import tempfile
from pathlib import Path

import numpy as np
import scipy.io
import scipy.optimize
import scipy.sparse as sp

from .._utils.validation import as_float_array
from ..exceptions import ReparamoptError
from .common import READABLE, CommandError, _first_line


def _load_npz(path):
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        if "format" in keys and "shape" in keys:
            return sp.load_npz(path)
        if len(keys) != 1:
            raise CommandError(
                f"cannot read {path}: a .npz file must hold a scipy.sparse matrix "
                f"(scipy.sparse.save_npz) or a single array; it holds {keys}")
        return archive[keys[0]]


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_text(path, delimiter):
    """A .csv (`delimiter` ",") or .txt (None: any whitespace, as numpy.loadtxt reads
    what numpy.savetxt writes) table of numbers."""
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    # One header line of column names is allowed.
    header = any(not _is_number(field) for field in first.split(delimiter) if field.strip())
    return np.loadtxt(path, delimiter=delimiter, ndmin=2, skiprows=int(header))


def load_array(path, name="A"):
    """Read a matrix or vector from .npy, .npz (scipy.sparse or one array), .mtx, .csv or
    .txt (numbers separated by whitespace, as numpy.savetxt writes them).

    Parameters
    ----------
    path : str or Path
        The file; its extension selects the reader.
    name : str, default "A"
        What the file holds, for error messages.

    Returns
    -------
    ndarray or scipy.sparse.csr_array
        float64 values, checked to be real and finite.

    Raises
    ------
    CommandError
        The file is missing, has an unknown extension, cannot be parsed or holds
        non-numeric, complex or non-finite values.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.cli import load_array
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> np.savetxt(os.path.join(folder, "b.csv"), [1.0, 2.0], delimiter=",")
    >>> load_array(os.path.join(folder, "b.csv"), "b").ravel()
    array([1., 2.])
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise CommandError(
            f"cannot read {name} from {path}: unknown file type {suffix or '(none)'!r}; "
            f"use one of {', '.join(READABLE)}")
    if not path.is_file():
        raise CommandError(f"cannot read {name}: no such file {path}")
    try:
        if suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            data = _load_npz(path)
        elif suffix == ".mtx":
            data = scipy.io.mmread(path)
        else:
            data = _load_text(path, "," if suffix == ".csv" else None)
    except CommandError:
        raise
    except Exception as exc:  # every parser has its own exception types
        raise CommandError(f"cannot read {name} from {path}: {_first_line(exc)}") from None
    if sp.issparse(data):
        data = sp.csr_array(data)
    try:
        return as_float_array(data, name, allow_sparse=True)
    except ReparamoptError as exc:
        raise CommandError(f"{path}: {exc}") from None


def load_matrix(path, name="A"):
    """A 2-D array or sparse matrix from `path` (see :func:`load_array`)."""
    data = load_array(path, name)
    if data.ndim != 2:
        raise CommandError(f"{name} in {path} must be a matrix; got shape {data.shape}")
    return data


def load_vector(path, name="b"):
    """A 1-D array from `path`; a single row or column is flattened."""
    data = load_array(path, name)
    if sp.issparse(data):
        data = data.toarray()
    if data.ndim == 2 and 1 in data.shape:
        data = data.ravel()
    if data.ndim != 1:
        raise CommandError(f"{name} in {path} must be a vector; got shape {data.shape}")
    return data


def _output_path(path, allowed, what):
    path = Path(path)
    if path.suffix.lower() not in allowed:
        raise CommandError(
            f"cannot write {what} to {path}: use one of the extensions {', '.join(allowed)}")
    if path.is_dir():
        raise CommandError(f"cannot write {what} to {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot write {what} to {path}: {_first_line(exc)}") from None
    return path


def _write_temporary(path, value):
    """`value` written and synced to a new file beside `path`; its path."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            os.chmod(temporary, _file_mode(path))  # mkstemp's 0600 is for secrets
            if path.suffix.lower() == ".npy":
                np.save(stream, value)
            else:
                np.savetxt(stream, np.atleast_1d(value), fmt="%.17g",
                           delimiter="," if path.suffix.lower() == ".csv" else " ")
            stream.flush()
            os.fsync(stream.fileno())
            _check_complete(stream)
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def _file_mode(path):
    """The permissions of the file written to `path`: those of the file it replaces (as
    cp and editors keep them), else those of any new file under the user's umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except OSError:
        umask = os.umask(0)  # the only way to read it; set back at once
        os.umask(umask)
        return 0o666 & ~umask


def _check_complete(stream):
    """An error unless the file of `stream` holds every byte written to it.

    np.save writes an array's data through C stdio, which drops a failed write's
    error (a file size limit, a full disk): the flush and fsync that follow succeed,
    and only the size of the file shows that the data are missing.
    """
    expected, size = stream.tell(), os.fstat(stream.fileno()).st_size
    if size != expected:
        raise OSError(f"only {size} of {expected} bytes were written (a file size limit or a "
                      "full disk?)")


def save_arrays(items):
    """Write every ``(path, value)`` of `items` (.npy, or text for .csv / .txt), all or
    none: each goes to a file beside its target first, and the targets are replaced
    only once every write has succeeded (an existing file is never left truncated)."""
    written = []
    try:
        for path, value in items:
            path = Path(path)
            try:
                written.append((_write_temporary(path, value), path))
            except OSError as exc:
                raise CommandError(f"cannot write {path}: {_first_line(exc)}") from None
        for temporary, path in written:
            os.replace(temporary, path)
        written = []
    finally:
        for temporary, _ in written:
            if os.path.exists(temporary):
                os.unlink(temporary)


def save_array(path, value):
    """Write `value` to .npy, or as text to .csv / .txt, atomically."""
    save_arrays([(path, value)])
