"""Imported before numpy by the benchmarks that run the engine in their own process: numpy's BLAS and
llvmpipe keep to one thread there, as the `render3d` command keeps them for itself and its workers
(`render3d.launch.single_threaded`)."""
from render3d.launch import single_threaded

single_threaded()
