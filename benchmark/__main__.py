"""`python -m benchmark` runs the fptbench CLI."""
import sys

from benchmark.cli import main

sys.exit(main())
