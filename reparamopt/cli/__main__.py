"""``python -m reparamopt.cli``: the command line."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
