"""`python -m minsec.cli`: the minsec command line."""

from minsec.cli import main

main()
