"""`python -m render3d` runs the command line, as the `render3d` command does."""
from render3d.launch import main

main()
