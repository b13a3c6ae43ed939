"""``python -m retroprop`` runs the command-line interface."""

import sys

from retroprop.cli.app import main

sys.exit(main())
