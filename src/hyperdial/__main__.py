"""``python -m hyperdial``: the command line, as the ``hyperdial`` script runs it."""

from hyperdial.cli import main

if __name__ == "__main__":
    main()
