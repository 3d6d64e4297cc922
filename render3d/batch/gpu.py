"""Which EGL device each worker renders on: `--gpu auto|none|INDEX`.

EGL lists a machine's devices (eglQueryDevicesEXT): one per GPU under the vendor driver, and Mesa's
software rasteriser (llvmpipe), which carries the EGL_MESA_device_software extension. `none` keeps
EGL's default display; `INDEX` puts every worker on device INDEX; `auto` deals the hardware devices
out to the workers in turn (worker k of a node on GPU k mod G), and is `none` on a node without one.
Workers take their turn from a counter file in the batch's state folder, so processes and Ray
actors alike spread over the devices of the node they run on.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from render3d.errors import Render3DError

EGL_EXTENSIONS = 0x3055
EGL_DRM_DEVICE_FILE_EXT = 0x3233
MAX_DEVICES = 32
SPECS = ("auto", "none")


class DeviceChoiceError(Render3DError):
    """`--gpu` names no device of this machine."""

    exit_code = 2


@dataclass(frozen=True)
class EglDevice:
    """One EGL device of this machine."""
    index: int                  # the EGL device index (moderngl's `device_index`)
    software: bool              # Mesa's llvmpipe rather than a GPU
    drm_file: str | None        # /dev/dri/... where the driver names one

    def describe(self) -> str:
        """The device in words, for the summary."""
        kind = "software" if self.software else "gpu"
        return f"{self.index}: {kind} {self.drm_file}" if self.drm_file else f"{self.index}: {kind}"


@functools.cache
def egl_devices() -> tuple[EglDevice, ...]:
    """The EGL devices of this machine, in EGL's order; raises Render3DError without libEGL or device queries.

    Listed once per process, before the landmark model runs: MediaPipe brings its own libEGL, and
    once its graph has run, device queries through the system's libEGL answer nothing.
    """
    name = ctypes.util.find_library("EGL") or "libEGL.so.1"
    try:
        egl = ctypes.CDLL(name)
    except OSError as exc:
        raise Render3DError(f"cannot load libEGL ({exc}): install libegl1") from None
    egl.eglGetProcAddress.restype = ctypes.c_void_p
    egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    query = egl.eglGetProcAddress(b"eglQueryDevicesEXT")
    describe = egl.eglGetProcAddress(b"eglQueryDeviceStringEXT")
    if not query or not describe:
        raise Render3DError("this EGL cannot list its devices (no EGL_EXT_device_enumeration)")
    query_devices = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                                     ctypes.POINTER(ctypes.c_int))(query)
    device_string = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int)(describe)
    handles, count = (ctypes.c_void_p * MAX_DEVICES)(), ctypes.c_int(0)
    if not query_devices(MAX_DEVICES, handles, ctypes.byref(count)):
        raise Render3DError("eglQueryDevicesEXT failed")
    devices = []
    for index in range(count.value):
        answer = device_string(handles[index], EGL_EXTENSIONS)
        if answer is None:
            raise Render3DError(f"EGL does not describe its device {index} (list the devices before the first fit)")
        extensions = answer.decode().split()
        drm = device_string(handles[index], EGL_DRM_DEVICE_FILE_EXT) if "EGL_EXT_device_drm" in extensions else None
        devices.append(EglDevice(index, "EGL_MESA_device_software" in extensions, drm.decode() if drm else None))
    return tuple(devices)


def check_spec(spec: str) -> str:
    """`spec` if it is auto, none or a device index of this machine; UsageError otherwise."""
    if spec in SPECS:
        return spec
    if not spec.isdigit():
        raise DeviceChoiceError(f"--gpu takes auto, none or an EGL device index, not {spec!r}")
    count = len(egl_devices())
    if int(spec) >= count:
        raise DeviceChoiceError(f"--gpu {spec}: this machine has {count} EGL device(s), 0 to {count - 1}")
    return spec


def candidates(spec: str) -> list[int]:
    """The EGL device indices workers take turns on under `spec`; empty for EGL's default display."""
    if spec == "none":
        return []
    if spec == "auto":
        return [device.index for device in egl_devices() if not device.software]
    return [int(spec)]


def record(spec: str) -> dict:
    """The summary's note: the `--gpu` asked for and the EGL devices workers took turns on (empty: the default
    display); with a choice, also this machine's EGL devices."""
    if spec == "none":
        return {"requested": spec, "devices": []}
    return {"requested": spec, "devices": candidates(spec), "egl_devices": [d.describe() for d in egl_devices()]}


@dataclass(frozen=True)
class DeviceTurns:
    """Hands each worker that starts its device under `spec`, counting turns in the file `counter`."""
    spec: str
    counter: Path

    def take(self) -> int | None:
        """This worker's EGL device index, or None for EGL's default display."""
        devices = candidates(self.spec)
        if not devices:
            return None
        fd = os.open(self.counter, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            turn = int(os.pread(fd, 32, 0) or b"0")
            os.pwrite(fd, str(turn + 1).encode(), 0)
        finally:
            os.close(fd)
        return devices[turn % len(devices)]
