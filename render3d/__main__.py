"""`python -m render3d` runs the command line."""
from render3d.cli import main

main()
