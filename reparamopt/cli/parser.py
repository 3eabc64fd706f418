"""The argument parser of the command line."""

import argparse

from .. import __version__
from .bench import SUITES, _cmd_bench
from .common import PROG
from .demo import _cmd_demo
from .io import READABLE
from .reproduce import _cmd_reproduce
from .solve import _cmd_nmf, _cmd_solve


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the None of options whose default is the solver's own."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def build_parser():
    """The argparse parser of the ``reparamopt`` command.

    Examples
    --------
    >>> from reparamopt.cli import build_parser
    >>> args = build_parser().parse_args(["solve", "A.npy", "b.npy", "--tol", "1e-8"])
    >>> args.command, args.tol
    ('solve', 1e-08)
    """
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_Formatter,
        description="Constrained optimization by reparametrization: NNLS, sparse recovery "
                    "and NMF from the command line.",
        epilog="Run `reparamopt COMMAND --help` for the options of a command.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_demo, _add_solve, _add_nmf, _add_bench, _add_reproduce):
        add(commands)
    return parser


_FILES = (f"Files: {', '.join(READABLE)} (.npz: scipy.sparse.save_npz or one array; .csv: "
          "comma-separated; .txt: separated by whitespace).")


def _add_demo(commands):
    demo = commands.add_parser(
        "demo", formatter_class=_Formatter,
        help="what reparamopt is for, beside scipy and scikit-learn, in about a minute",
        description="On embedded and generated data (no download), reparamopt beside the "
                    "reference solvers: the implicit l1 bias of small initializations (the "
                    "paper's m=10, n=50 problem), an ill-conditioned spectral unmixing, many "
                    "right-hand sides in one call and NMF of the digits beside scikit-learn's "
                    "(skipped without scikit-learn). Prints a table per part (median times, "
                    "objectives, KKT residuals by one independent check) and writes a plot.")
    demo.add_argument("-o", "--output", default="reparamopt-demo.png", help="path of the PNG plot")
    demo.add_argument("--seed", type=int, default=0, help="seed of the random problems")
    demo.add_argument("--size", type=int, default=200,
                      help="peaks n of the spectral library (5 n channels)")
    demo.add_argument("--no-plot", action="store_true", help="skip the plot")
    demo.set_defaults(handler=_cmd_demo)


def _add_solve(commands):
    solve = commands.add_parser(
        "solve", formatter_class=_Formatter, help="NNLS or sparse recovery from files",
        description="Solve min ||A x - b|| subject to x >= 0 (or recover a sparse x with "
                    "--sparse-recovery) from A and b stored in files. " + _FILES)
    solve.add_argument("A", help="matrix file")
    solve.add_argument("b", help="right-hand side file (a vector, or one row or column)")
    solve.add_argument("-o", "--output", help="write x to this .npy, .csv or .txt file")
    solve.add_argument("--sparse-recovery", action="store_true",
                       help="use reparamopt.sparse_recovery (small init, implicit l1 bias)")
    solve.add_argument("--signed", action="store_true", help="with --sparse-recovery: x of any sign")
    solve.add_argument("--method", help="NNLS: auto, gd, riemannian-gd, bb, accelerated (alias "
                                        "nesterov), mirror-nesterov, flow, accelerated-flow; sparse "
                                        "recovery: auto, limit, flow, gd, accelerated, "
                                        "accelerated-flow (default: auto)")
    solve.add_argument("--power", type=float, help="Hadamard power L >= 2 of x = u**L (default 2)")
    solve.add_argument("--init-scale", type=float,
                       help="scale alpha of the identical initialization u0 = alpha * 1; small "
                            "values bias x to sparse solutions (default: the solver's)")
    solve.add_argument("--tol", type=float, help="tolerance on the relative KKT residual "
                                                 "(default: 1e-10 for NNLS, 1e-8 for sparse recovery)")
    solve.add_argument("--max-iter", type=int, help="iteration limit (default: the solver's)")
    solve.add_argument("--no-polish", action="store_true",
                       help="skip the exact finish on the identified support (the dynamics alone)")
    solve.add_argument("--progress", action="store_true", help="show a progress bar")
    solve.set_defaults(handler=_cmd_solve)


def _add_nmf(commands):
    nmf = commands.add_parser(
        "nmf", formatter_class=_Formatter, help="non-negative matrix factorization of a file",
        description="Factor a non-negative X ~ W H with reparamopt.NMF and write W and H to "
                    "PREFIX_W and PREFIX_H. " + _FILES)
    nmf.add_argument("X", help="data matrix file (non-negative)")
    nmf.add_argument("-k", "--n-components", dest="k", type=int, required=True, help="rank k")
    nmf.add_argument("-o", "--output", metavar="PREFIX",
                     help="prefix of the output files (default: the name of X without extension)")
    nmf.add_argument("--format", choices=("npy", "csv"), default="npy", help="format of W and H")
    nmf.add_argument("--solver", help="NMF solver (default: 'auto')")
    nmf.add_argument("--init", help="initialization (default: the estimator's)")
    nmf.add_argument("--beta-loss", help="beta divergence (default 'frobenius')")
    nmf.add_argument("--power", type=float, help="Hadamard power L >= 2 (default 2)")
    nmf.add_argument("--tol", type=float,
                     help="stopping tolerance, with scikit-learn's meanings (see reparamopt.NMF)")
    nmf.add_argument("--max-iter", type=int, help="iteration limit")
    nmf.add_argument("--seed", type=int, default=0, help="random seed")
    nmf.add_argument("--progress", action="store_true", help="show a progress bar")
    nmf.set_defaults(handler=_cmd_nmf)


def _add_bench(commands):
    bench = commands.add_parser(
        "bench", formatter_class=_Formatter, help="run the benchmark suites",
        description="Run the benchmark suites shipped in reparamopt.benchmarks, each in a fresh "
                    "interpreter with a progress bar; print their tables and write them as CSV "
                    "with a PNG plot. REPARAMOPT_BENCHMARKS may name a folder of bench_<suite>.py "
                    "scripts to run instead.")
    bench.add_argument("suite", nargs="?", choices=SUITES + ("all",), default="all", help="suite to run")
    bench.add_argument("--quick", action="store_true", help="smaller problems, fewer repeats")
    bench.add_argument("-o", "--output", default="benchmark-results", help="folder of the CSV and PNG files")
    bench.set_defaults(handler=_cmd_bench)


def _add_reproduce(commands):
    reproduce = commands.add_parser(
        "reproduce", formatter_class=_Formatter, help="regenerate the paper's figures",
        description="Run the tutorials shipped in reparamopt.tutorials (plot_*.py) that reproduce "
                    "the paper's figures, writing their figures into a folder. "
                    "REPARAMOPT_TUTORIALS may name a folder of plot_*.py scripts to run instead.")
    reproduce.add_argument("figure", nargs="*", help="figures to make (default: all); see --list")
    reproduce.add_argument("-o", "--output", default="reparamopt-figures", help="folder of the figures")
    reproduce.add_argument("--quick", action="store_true", help="smaller problems (REPARAMOPT_QUICK=1)")
    reproduce.add_argument("--list", action="store_true", help="list the figures and exit")
    reproduce.set_defaults(handler=_cmd_reproduce)
