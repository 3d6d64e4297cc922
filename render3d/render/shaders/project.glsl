// Image space (x right, y down, z away from the camera, in pixels) -> clip space of the rendered window.
uniform vec4 u_crop;       // x0, y0, width, height of the rendered window, in image pixels
uniform vec2 u_depth;      // nearest and farthest image-space z

vec4 project(vec3 position) {
    vec2 ndc = vec2(2.0 * (position.x - u_crop.x) / u_crop.z - 1.0,
                    1.0 - 2.0 * (position.y - u_crop.y) / u_crop.w);
    float depth = 2.0 * (position.z - u_depth.x) / (u_depth.y - u_depth.x) - 1.0;
    return vec4(ndc, depth, 1.0);
}
