"""``python -m wsnb`` runs the CLI."""

from wsnb.cli import main

main()
