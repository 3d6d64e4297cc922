"""Imported before numpy by the benchmarks that run the engine in their own process: numpy's BLAS keeps
to one thread there, as the `render3d` command keeps it for itself and its workers
(`render3d.launch.single_threaded_blas`)."""
from render3d.launch import single_threaded_blas

single_threaded_blas()
