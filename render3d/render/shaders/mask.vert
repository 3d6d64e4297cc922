#version 330 core
// Mask surface in image space, with camera-frame normals (y up, z toward the camera).
#include "project.glsl"
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
in float in_ao;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_position;
out float v_ao;

void main() {
    gl_Position = project(in_position);
    v_normal = in_normal;
    v_uv = in_uv;
    v_ao = in_ao;
    v_position = vec3(in_position.x, -in_position.y, -in_position.z);   // image axes -> camera frame
}
