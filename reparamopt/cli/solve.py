"""``reparamopt solve`` and ``reparamopt nmf``: the flagships on files."""

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .common import (
    EXIT_NOT_CONVERGED,
    PROG,
    CommandError,
    _first_line,
    _flagship,
    _residual_norm,
    in_option_names,
    quiet_solver,
)
from .io import _output_path, load_matrix, load_vector, save_array, save_arrays


def _given(args, names):
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


# the solvers' names for what the options of `solve` and `nmf` set, for their messages
SOLVE_OPTIONS = {"method": "--method", "power": "--power", "init_scale": "--init-scale", "tol": "--tol",
                 "max_iter": "--max-iter", "polish": "--no-polish"}
NMF_OPTIONS = {"n_components": "-k", "solver": "--solver", "init": "--init", "beta_loss": "--beta-loss",
               "power": "--power", "tol": "--tol", "max_iter": "--max-iter", "random_state": "--seed"}


def _warn(command, messages, options):
    for message in messages:
        print(f"{PROG} {command}: warning: {in_option_names(message, options)}", file=sys.stderr)


def _cmd_solve(args):
    output = _output_path(args.output, (".npy", ".csv", ".txt"), "x") if args.output else None
    A = load_matrix(args.A, "A")
    b = load_vector(args.b, "b")
    if A.shape[0] != b.shape[0]:
        raise CommandError(
            f"A and b do not match: A ({args.A}) has {A.shape[0]} rows, b ({args.b}) has "
            f"{b.shape[0]} entries")
    options = _given(args, ("method", "power", "init_scale", "tol", "max_iter"))
    if args.progress:
        options["progress"] = True
    if args.sparse_recovery:
        solver = _flagship("sparse_recovery")
        if args.signed:
            options["nonnegative"] = False
    else:
        if args.signed:
            raise CommandError("--signed applies to --sparse-recovery only")
        solver = _flagship("nnls")
    if args.no_polish:
        options["polish"] = False
    start = time.perf_counter()
    with quiet_solver(args.progress) as warned:
        result = solver(A, b, **options)
    elapsed = time.perf_counter() - start
    x = np.asarray(result.x, dtype=float)
    converged = result.status in (1, 2)
    message = in_option_names(str(result.message), SOLVE_OPTIONS)
    rows = [
        ("problem", f"{'sparse recovery' if args.sparse_recovery else 'NNLS'}, A {A.shape[0]} x "
                    f"{A.shape[1]}{' (sparse)' if sp.issparse(A) else ''}"),
        ("method", str(result.get("method", options.get("method", "auto")))),
        ("status", f"{result.status} ({message if converged else 'not converged'})"),
        ("rnorm", f"{_residual_norm(A, x, b):.10e}"),
        ("optimality", f"{float(result.optimality):.3e}"),
        ("iterations", str(result.nit)),
        ("time", f"{elapsed:.3f} s"),
        ("nonzeros", f"{int(np.count_nonzero(x))} of {x.size}"),
    ]
    if output is not None:
        save_array(output, x)
        rows.append(("x written to", str(output)))
    else:
        rows.append(("x", np.array2string(x, precision=6, threshold=12, edgeitems=4,
                                          max_line_width=10 ** 6) + "  (-o FILE saves it)"))
    _print_rows(rows)
    # the result's own message is the not-converged line below, not a warning besides
    _warn("solve", [m for m in warned if m != _first_line(result.message)], SOLVE_OPTIONS)
    if not converged:
        reason = message.removeprefix("Not converged: ")
        print(f"{PROG} solve: not converged (status {result.status}): {reason}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return 0


def _print_rows(rows):
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)} : {value}")


def _cmd_nmf(args):
    fmt = args.format
    prefix = args.output or Path(args.X).with_suffix("").name
    paths = {name: _output_path(f"{prefix}_{name}.{fmt}", (f".{fmt}",), name) for name in ("W", "H")}
    X = load_matrix(args.X, "X")
    NMF = _flagship("NMF")
    options = _given(args, ("solver", "init", "max_iter", "tol", "power", "beta_loss"))
    if args.k < 1:
        raise CommandError(f"`-k` must be a positive integer; got {args.k}")
    model = NMF(n_components=args.k, random_state=args.seed, progress=args.progress, **options)
    start = time.perf_counter()
    with quiet_solver(args.progress) as warned:
        W = model.fit_transform(X)
    elapsed = time.perf_counter() - start
    H = model.components_
    save_arrays([(paths["W"], W), (paths["H"], H)])
    norm = float(sp.linalg.norm(X)) if sp.issparse(X) else float(np.linalg.norm(X))
    err = float(model.reconstruction_err_)
    rows = [
        ("X", f"{X.shape[0]} x {X.shape[1]}{' (sparse)' if sp.issparse(X) else ''}"),
        ("rank k", str(model.n_components_)),
        ("solver", str(getattr(model, "solver_", args.solver))),
        ("reconstruction error", f"{err:.6e} (relative {err / max(norm, 1e-300):.3e})"),
        ("iterations", str(model.n_iter_)),
        ("time", f"{elapsed:.3f} s"),
        ("W written to", f"{paths['W']} ({W.shape[0]} x {W.shape[1]})"),
        ("H written to", f"{paths['H']} ({H.shape[0]} x {H.shape[1]})"),
    ]
    _print_rows(rows)
    _warn("nmf", warned, NMF_OPTIONS)
    return 0
