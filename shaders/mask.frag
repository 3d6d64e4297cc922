#version 330 core
// Fabric shading: albedo and tangent-space normal map lit by order-2 spherical harmonics.
uniform sampler2D u_albedo;
uniform sampler2D u_normal_map;
uniform bool u_has_normal_map;
uniform vec3 u_tint;            // multiplies the albedo (recolouring), linear RGB
uniform vec3 u_sh[9];           // irradiance SH coefficients, linear RGB
uniform float u_sheen;
uniform bool u_shaded;          // false: flat, unlit albedo
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_position;
out vec4 f_color;

vec3 srgb_to_linear(vec3 c) { return pow(c, vec3(2.2)); }
vec3 linear_to_srgb(vec3 c) { return pow(clamp(c, 0.0, 1.0), vec3(1.0 / 2.2)); }

vec3 sh_irradiance(vec3 n) {
    // Ramamoorthi & Hanrahan's order-2 irradiance polynomial (coefficients pre-convolved).
    return u_sh[0]
         + u_sh[1] * n.y + u_sh[2] * n.z + u_sh[3] * n.x
         + u_sh[4] * n.x * n.y + u_sh[5] * n.y * n.z + u_sh[6] * (3.0 * n.z * n.z - 1.0)
         + u_sh[7] * n.x * n.z + u_sh[8] * (n.x * n.x - n.y * n.y);
}

vec3 perturbed_normal(vec3 n) {
    // Cotangent frame from screen-space derivatives: no per-vertex tangents needed.
    vec3 dp1 = dFdx(v_position), dp2 = dFdy(v_position);
    vec2 duv1 = dFdx(v_uv), duv2 = dFdy(v_uv);
    vec3 dp2perp = cross(dp2, n), dp1perp = cross(n, dp1);
    vec3 t = dp2perp * duv1.x + dp1perp * duv2.x;
    vec3 b = dp2perp * duv1.y + dp1perp * duv2.y;
    float inv_max = inversesqrt(max(dot(t, t), dot(b, b)) + 1e-20);
    vec3 m = texture(u_normal_map, v_uv).xyz * 2.0 - 1.0;
    return normalize(mat3(t * inv_max, b * inv_max, n) * m);
}

void main() {
    vec3 albedo = srgb_to_linear(texture(u_albedo, v_uv).rgb) * u_tint;
    if (!u_shaded) {
        f_color = vec4(linear_to_srgb(albedo), 1.0);
        return;
    }
    vec3 n = normalize(v_normal);
    bool inside = n.z < 0.0;            // the mask's inner side, seen past its edge
    if (inside) n = -n;
    if (u_has_normal_map) n = perturbed_normal(n);
    vec3 light = max(sh_irradiance(n), vec3(0.0));
    // Fabric sheen: a soft rim brightening at grazing angles.
    float grazing = pow(1.0 - clamp(n.z, 0.0, 1.0), 3.0);
    vec3 colour = albedo * light + u_sheen * grazing * light * 0.25;
    if (inside) colour *= 0.6;
    f_color = vec4(linear_to_srgb(colour), 1.0);
}
