#version 330 core
// Depth-only pass: the fitted face and head shell hide what lies behind them.
#include "project.glsl"
in vec3 in_position;       // image space: x right, y down, z away from the camera

void main() {
    gl_Position = project(in_position);
}
