#version 330 core
// Depth-only pass: the fitted face and head shell hide what lies behind them.
uniform vec4 u_crop;       // x0, y0, width, height of the rendered window, in image pixels
uniform vec2 u_depth;      // nearest and farthest image-space z
in vec3 in_position;       // image space: x right, y down, z away from the camera

void main() {
    vec2 ndc = vec2(2.0 * (in_position.x - u_crop.x) / u_crop.z - 1.0,
                    1.0 - 2.0 * (in_position.y - u_crop.y) / u_crop.w);
    float depth = 2.0 * (in_position.z - u_depth.x) / (u_depth.y - u_depth.x) - 1.0;
    gl_Position = vec4(ndc, depth, 1.0);
}
