"""``python -m reparamopt``: the command line."""

from _reparamopt_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
