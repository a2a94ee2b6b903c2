"""`python -m monitor` runs the pledgewatch command line; `main` is also the `pledgewatch`
script's entry point.

The command line is imported only when `main` runs. Parse workers started with spawn run
their parent's script again before any work: had the script imported `monitor.cli`, each
worker would import the whole command line first (about 0.6 s of CPU here).
"""

from __future__ import annotations


def main() -> None:
    """Run the command line."""
    from monitor.cli import main as run

    run()


if __name__ == "__main__":
    main()
