"""Offscreen EGL renderer: a depth pre-pass of the occluders, then the shaded mask, antialiased.

One moderngl context per process (software Mesa llvmpipe on CPU nodes, the vendor driver on GPU
nodes). A render returns a straight-alpha RGBA float image of one window of the photo and, drawn in the
same pass, the coverage of its straps alone (`Rendered`).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from typing import NamedTuple

import cv2
import moderngl
import numpy as np

from render3d._paths import DETAIL_TEXTURE, SHADERS_DIR
from render3d.errors import EngineError
from render3d.geometry import Window, unpremultiply
from render3d.io.image_in import load_image

MAX_RENDER_SIDE = 2048      # larger windows are rendered smaller and resized
DEPTH_PADDING = 1.0
MAX_TARGETS = 2             # render-target sizes kept for reuse, the least recently used released first
MAX_TEXTURE_BYTES = 56 * 2 ** 20    # GL textures kept (pixels with their mipmaps), likewise: all the stock
                                    # masks' (47 MB) and a few printed fabrics (each face's print is its own)
DETAIL_REPEAT = (36.0, 25.0)        # fabric detail tiles across a body texture's u and v (about 0.55 cm each)


@dataclass
class DrawPart:
    """One mask part placed in image space, ready to draw."""
    positions: np.ndarray           # (V, 3) image space
    normals: np.ndarray             # (V, 3) camera frame: y up, z toward the camera
    uvs: np.ndarray                 # (V, 2)
    triangles: np.ndarray           # (T, 3)
    texture_key: str                # identifies albedo and normal map for the texture cache
    albedo: np.ndarray              # (H, W, 3) uint8 sRGB
    normal_map: np.ndarray | None   # (H, W, 3) uint8 tangent-space normals
    tint: tuple = (1.0, 1.0, 1.0)   # linear RGB multiplier of the albedo
    sheen: float = 0.0
    sh: np.ndarray = field(default_factory=lambda: DEFAULT_SH)
    colour: np.ndarray = field(default_factory=lambda: np.eye(3, dtype=np.float32))   # linear RGB 3x3 on the lit colour
    ao: np.ndarray | None = None    # (V,) ambient visibility per vertex (None: fully visible)
    shade: np.ndarray | None = None     # (V, 3) linear RGB factor of the light per vertex (None: 1)
    shaded: bool = True             # False: the albedo as it is (a photo texture, the flat look)
    creases: np.ndarray | None = None   # (C, 6) u, v, angle, depth, width, half length (`mask.choice`)
    detail: float = 0.0             # strength of the fabric detail map's weave and fibres (0: none)
    strap: bool = False             # an ear loop or head strap (`Rendered.straps`)


class Rendered(NamedTuple):
    """One window's render."""
    rgba: np.ndarray                # (h, w, 4) float32 straight alpha
    straps: np.ndarray              # (h, w) float32: the coverage of the strap parts where nothing is in front


def _default_sh() -> np.ndarray:
    """Soft studio light: ambient plus a key light from the upper front."""
    sh = np.zeros((9, 3), np.float32)
    sh[0] = 0.78
    sh[1] = 0.22       # from above
    sh[2] = 0.30       # from the front
    return sh


DEFAULT_SH = _default_sh()


def shader_source(name: str) -> str:
    """GLSL text of `shaders/NAME`, each `#include "FILE"` line replaced by that file's text."""
    lines = (SHADERS_DIR / name).read_text().splitlines()
    return "\n".join(shader_source(line.split('"')[1]) if line.startswith("#include ") else line
                     for line in lines) + "\n"


def gl_errors_raised(method):
    """A GL failure (no display, a context lost or not current in this thread) is an engine error:
    it stops the run instead of letting faces fall back to the 2D path one by one."""
    @wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except moderngl.Error as exc:
            raise EngineError(f"GL failed in {method.__name__}: {' '.join(str(exc).split())}") from None
    return wrapper


class Renderer:
    """An offscreen EGL context with the occluder and mask programs, its textures and framebuffers."""
    @gl_errors_raised
    def __init__(self, samples: int = 4, device: int | None = None):
        """`device`: an EGL device index (see render3d.batch.gpu), or None for EGL's default display."""
        chosen = {} if device is None else {"device_index": device}
        self.ctx = moderngl.create_context(standalone=True, backend="egl", **chosen)
        self.samples = min(samples, self.ctx.max_samples)
        self.occluder_program = self._program("occluder")
        self.mask_program = self._program("mask")
        self._textures: OrderedDict[str, moderngl.Texture] = OrderedDict()
        self._targets: OrderedDict[tuple[int, int], tuple] = OrderedDict()

    @property
    def device(self) -> str:
        """The GL renderer string (llvmpipe on CPU nodes)."""
        return self.ctx.info["GL_RENDERER"]

    def _program(self, name: str) -> moderngl.Program:
        return self.ctx.program(vertex_shader=shader_source(f"{name}.vert"),
                                fragment_shader=shader_source(f"{name}.frag"))

    def _texture(self, key: str, pixels: np.ndarray) -> moderngl.Texture:
        if key not in self._textures:
            h, w = pixels.shape[:2]
            texture = self.ctx.texture((w, h), 3, np.ascontiguousarray(pixels[::-1]).tobytes(), alignment=1)
            texture.build_mipmaps()
            # Trilinear, not anisotropic: llvmpipe's anisotropic path doubled the mask's draw cost
            # for a mean change of under 1.1 levels (8-bit) on the dev photos.
            texture.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
            self._textures[key] = texture
            while len(self._textures) > 1 and sum(map(texture_bytes, self._textures.values())) > MAX_TEXTURE_BYTES:
                self._textures.popitem(last=False)[1].release()
        self._textures.move_to_end(key)
        return self._textures[key]

    def _target(self, width: int, height: int) -> tuple:
        """Multisampled and resolved framebuffers, reused for windows up to a rounded-up size."""
        key = (-(-width // 256) * 256, -(-height // 256) * 256)
        if key not in self._targets:
            colour = [self.ctx.renderbuffer(key, components, samples=self.samples) for components in (4, 1)]
            depth = self.ctx.depth_renderbuffer(key, samples=self.samples)
            resolved = self.ctx.framebuffer([self.ctx.renderbuffer(key, components) for components in (4, 1)])
            self._targets[key] = (self.ctx.framebuffer(colour, depth), resolved)
            while len(self._targets) > MAX_TARGETS:
                for framebuffer in self._targets.popitem(last=False)[1]:
                    release_framebuffer(framebuffer)
        self._targets.move_to_end(key)
        return self._targets[key]

    def render(self, window: Window, occluders: list[tuple[np.ndarray, np.ndarray]],
               parts: list[DrawPart], shaded: bool = True) -> np.ndarray:
        """Straight-alpha RGBA (h, w, 4) float32 of the image window (x0, y0, w, h)."""
        return self.render_layers(window, occluders, parts, shaded).rgba

    @gl_errors_raised
    def render_layers(self, window: Window, occluders: list[tuple[np.ndarray, np.ndarray]],
                      parts: list[DrawPart], shaded: bool = True) -> Rendered:
        """The image window (x0, y0, w, h) drawn, with its straps' own coverage from the same pass."""
        with self.ctx:          # current for this render: another engine's context may be, in this thread
            return self._render(window, occluders, parts, shaded)

    def _render(self, window: tuple[int, int, int, int], occluders: list[tuple[np.ndarray, np.ndarray]],
                parts: list[DrawPart], shaded: bool) -> Rendered:
        x0, y0, width, height = window
        scale = min(1.0, MAX_RENDER_SIDE / max(width, height))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        msaa, resolved = self._target(*size)
        z = np.concatenate([v[:, 2] for v, _ in occluders] + [p.positions[:, 2] for p in parts])
        for program in (self.occluder_program, self.mask_program):
            program["u_crop"] = (x0, y0, width, height)
            program["u_depth"] = (float(z.min()) - DEPTH_PADDING, float(z.max()) + DEPTH_PADDING)

        msaa.viewport = msaa.scissor = (0, 0, *size)   # clear and resolve the window only, not the whole target
        msaa.use()
        msaa.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.disable(moderngl.CULL_FACE)
        self.ctx.depth_func = "<="       # a part drawn on an occluder's own surface stays visible
        msaa.color_mask = ((False,) * 4,) * 2
        msaa.use()                      # a framebuffer's colour mask applies when it is bound
        for vertices, triangles in occluders:
            if overlaps(vertices, window):      # another face's occluder far from this one adds no depth here
                self._draw(self.occluder_program, triangles, vertices)
        msaa.color_mask = ((True,) * 4,) * 2
        msaa.use()
        for part in parts:
            self._draw_part(part, shaded and part.shaded)
        self.ctx.copy_framebuffer(resolved, msaa)      # resolves both attachments
        layers = [np.frombuffer(resolved.read(viewport=(0, 0, *size), components=components, attachment=index),
                                np.uint8).reshape(size[1], size[0], components)[::-1].astype(np.float32) / 255
                  for index, components in enumerate((4, 1))]
        premultiplied = np.concatenate(layers, axis=2)
        if size != (width, height):
            premultiplied = cv2.resize(premultiplied, (width, height), interpolation=cv2.INTER_AREA)
        return Rendered(unpremultiply(premultiplied[..., :4]), np.ascontiguousarray(premultiplied[..., 4]))

    def _draw(self, program: moderngl.Program, triangles: np.ndarray, *attributes: np.ndarray) -> None:
        names = ["in_position", "in_normal", "in_uv", "in_ao", "in_shade"][:len(attributes)]
        interleaved = np.concatenate([a.astype(np.float32) for a in attributes], axis=1)
        vbo = self.ctx.buffer(np.ascontiguousarray(interleaved).tobytes())
        ibo = self.ctx.buffer(np.ascontiguousarray(triangles, dtype=np.int32).tobytes())
        layout = " ".join(f"{a.shape[1]}f" for a in attributes)
        vao = self.ctx.vertex_array(program, [(vbo, layout, *names)], index_buffer=ibo, index_element_size=4)
        vao.render(moderngl.TRIANGLES)
        for resource in (vao, vbo, ibo):
            resource.release()

    def _draw_part(self, part: DrawPart, shaded: bool) -> None:
        program = self.mask_program
        self._texture(part.texture_key + ":albedo", part.albedo).use(0)
        program["u_albedo"] = 0
        has_normal_map = part.normal_map is not None and shaded
        if has_normal_map:
            self._texture(part.texture_key + ":normal", part.normal_map).use(1)
            program["u_normal_map"] = 1
        program["u_has_normal_map"] = has_normal_map
        detail = part.detail if shaded else 0.0
        if detail > 0:
            self._texture("fabric_detail", detail_map()).use(2)
            program["u_detail"] = 2
            program["u_detail_repeat"] = DETAIL_REPEAT
        program["u_detail_strength"] = float(detail)
        program["u_tint"] = tuple(float(c) for c in part.tint)
        program["u_sh"].write(np.ascontiguousarray(part.sh, dtype=np.float32).tobytes())
        # GLSL matrices are column-major: write the transpose.
        program["u_colour"].write(np.ascontiguousarray(part.colour.T, dtype=np.float32).tobytes())
        program["u_sheen"] = float(part.sheen)
        program["u_shaded"] = shaded
        program["u_strap"] = part.strap
        creases = np.zeros((0, 6), np.float32) if part.creases is None or not shaded else part.creases
        program["u_crease_count"] = len(creases)
        if len(creases):
            padded = np.zeros((program["u_creases"].array_length, 6), np.float32)
            padded[:len(creases)] = creases
            program["u_creases"].write(np.ascontiguousarray(padded[:, :4]).tobytes())
            program["u_crease_size"].write(np.ascontiguousarray(padded[:, 4:]).tobytes())
        ao = np.ones(len(part.positions)) if part.ao is None else part.ao
        shade = np.ones((len(part.positions), 3)) if part.shade is None else part.shade
        self._draw(program, part.triangles, part.positions, part.normals, part.uvs, ao[:, None], shade)


@lru_cache(maxsize=1)
def detail_map() -> np.ndarray:
    """(H, W, 3) uint8 fabric detail map (`render3d.assetgen.detail`): normal x, y and fibre shade."""
    return load_image(DETAIL_TEXTURE).rgb


def overlaps(vertices: np.ndarray, window: tuple[int, int, int, int]) -> bool:
    """Whether the x, y bounding box of image-space (V, 3) vertices meets the window (x0, y0, w, h)."""
    x0, y0, width, height = window
    low, high = vertices[:, :2].min(0), vertices[:, :2].max(0)
    return bool(low[0] <= x0 + width and high[0] >= x0 and low[1] <= y0 + height and high[1] >= y0)


def texture_bytes(texture: moderngl.Texture) -> int:
    """GL memory of an 8-bit texture with its mipmap chain (4/3 of the base level)."""
    return texture.width * texture.height * texture.components * 4 // 3


def release_framebuffer(framebuffer: moderngl.Framebuffer) -> None:
    """Release a framebuffer and the renderbuffers attached to it."""
    attachments = [*framebuffer.color_attachments, framebuffer.depth_attachment]
    framebuffer.release()
    for attachment in attachments:
        if attachment is not None:
            attachment.release()
