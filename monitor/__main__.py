"""`python -m monitor` runs the pledgewatch command line."""

from monitor.cli import main

main()
