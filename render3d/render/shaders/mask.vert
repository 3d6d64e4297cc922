#version 330 core
// Mask surface in image space, with camera-frame normals (y up, z toward the camera).
uniform vec4 u_crop;
uniform vec2 u_depth;
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
in float in_ao;
in vec3 in_shade;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_position;
out float v_ao;
out vec3 v_shade;

void main() {
    vec2 ndc = vec2(2.0 * (in_position.x - u_crop.x) / u_crop.z - 1.0,
                    1.0 - 2.0 * (in_position.y - u_crop.y) / u_crop.w);
    float depth = 2.0 * (in_position.z - u_depth.x) / (u_depth.y - u_depth.x) - 1.0;
    gl_Position = vec4(ndc, depth, 1.0);
    v_normal = in_normal;
    v_uv = in_uv;
    v_ao = in_ao;
    v_shade = in_shade;
    v_position = vec3(in_position.x, -in_position.y, -in_position.z);
}
