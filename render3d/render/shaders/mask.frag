#version 330 core
// Fabric shading: albedo and tangent-space normal map lit by order-2 spherical harmonics.
uniform sampler2D u_albedo;
uniform sampler2D u_normal_map;
uniform bool u_has_normal_map;
uniform vec3 u_tint;            // multiplies the albedo (recolouring), linear RGB
uniform vec3 u_sh[9];           // irradiance SH coefficients, linear RGB (basis in sh_irradiance)
uniform mat3 u_colour;          // colour match of the lit result (exposure, white balance, saturation)
uniform float u_sheen;
uniform bool u_shaded;          // false: flat, unlit albedo
uniform bool u_strap;           // an ear loop or head strap: its coverage is also drawn apart, in f_strap
uniform sampler2D u_detail;     // fabric detail: normal x, y and fibre shade (render3d.assetgen.detail)
uniform vec2 u_detail_repeat;   // its tiles across the texture
uniform float u_detail_strength;    // 0: no detail
const int MAX_CREASES = 9;         // render3d.mask.choice.MAX_CREASES
uniform int u_crease_count;
uniform vec4 u_creases[MAX_CREASES];      // u, v of the centre, angle in texture space, peak slope
uniform vec2 u_crease_size[MAX_CREASES];  // width and half length, texture units
// A crease darkens or lights the fabric by at most these factors of its uncreased light: a fold's
// steep flank reads as a soft line, never a dark smudge.
const vec2 CREASE_SHADE = vec2(0.8, 1.15);
const vec3 LUMINANCE = vec3(0.2126, 0.7152, 0.0722);
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_position;
in float v_ao;                  // baked ambient visibility
in vec3 v_shade;                // the skin's light the SH leaves out and the head hides, where the mask lies (linear RGB factor)
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_strap;

vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(vec3(0.04045), c));
}
vec3 linear_to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(vec3(0.0031308), c));
}

vec3 shoulder(vec3 c) {
    // Highlights roll off toward white without shifting hue, as a camera's tone curve does.
    const float knee = 0.8;
    float peak = max(max(c.r, c.g), c.b);
    if (peak <= knee) return c;
    return c * (knee + (1.0 - knee) * (1.0 - exp(-(peak - knee) / (1.0 - knee)))) / peak;
}

vec3 sh_irradiance(vec3 n) {
    // Ramamoorthi & Hanrahan's order-2 irradiance polynomial (coefficients pre-convolved), in the basis
    // 1, y, z, x, xy, yz, 3z^2 - 1, xz, x^2 - y^2 of the camera-frame normal (render3d.light fits it).
    return u_sh[0]
         + u_sh[1] * n.y + u_sh[2] * n.z + u_sh[3] * n.x
         + u_sh[4] * n.x * n.y + u_sh[5] * n.y * n.z + u_sh[6] * (3.0 * n.z * n.z - 1.0)
         + u_sh[7] * n.x * n.z + u_sh[8] * (n.x * n.x - n.y * n.y);
}

vec2 crease_slope(vec2 uv, out float fold) {
    // Each crease is a ridge of Gaussian profile across it, fading along it: the slope of the sum,
    // in texture space, and how deep in a fold the point lies (0 up to the deepest crease's peak slope).
    vec2 slope = vec2(0.0);
    fold = 0.0;
    for (int i = 0; i < u_crease_count; ++i) {
        vec2 along = vec2(cos(u_creases[i].z), sin(u_creases[i].z));
        vec2 offset = uv - u_creases[i].xy;
        float across = dot(offset, vec2(-along.y, along.x)) / u_crease_size[i].x;
        float length = dot(offset, along) / u_crease_size[i].y;
        float height = exp(-across * across - length * length);
        slope += u_creases[i].w * height * (-2.0 * across) * vec2(-along.y, along.x);
        fold = max(fold, height * u_creases[i].w);
    }
    return slope;
}

vec3 perturbed_normal(vec3 n, vec3 detail, out float fold, out vec3 uncreased) {
    // Cotangent frame from screen-space derivatives: no per-vertex tangents needed.
    vec3 dp1 = dFdx(v_position), dp2 = dFdy(v_position);
    vec2 duv1 = dFdx(v_uv), duv2 = dFdy(v_uv);
    vec3 dp2perp = cross(dp2, n), dp1perp = cross(n, dp1);
    vec3 t = dp2perp * duv1.x + dp1perp * duv2.x;
    vec3 b = dp2perp * duv1.y + dp1perp * duv2.y;
    float inv_max = inversesqrt(max(dot(t, t), dot(b, b)) + 1e-20);
    mat3 frame = mat3(t * inv_max, b * inv_max, n);
    vec3 m = u_has_normal_map ? texture(u_normal_map, v_uv).xyz * 2.0 - 1.0 : vec3(0.0, 0.0, 1.0);
    m.xy += u_detail_strength * (detail.xy * 2.0 - 1.0);
    uncreased = normalize(frame * m);
    m.xy -= crease_slope(v_uv, fold);
    return normalize(frame * m);
}

vec3 key_light(out vec3 direction) {
    // The SH's directional part as one light: its direction (camera frame) and its irradiance.
    vec3 band1 = vec3(dot(u_sh[3], LUMINANCE), dot(u_sh[1], LUMINANCE), dot(u_sh[2], LUMINANCE));
    direction = length(band1) > 1e-4 ? normalize(band1) : vec3(0.0, 0.0, 1.0);
    return max(sh_irradiance(direction) - u_sh[0], vec3(0.0));
}

void main() {
    f_strap = u_strap ? 1.0 : 0.0;
    vec3 albedo = srgb_to_linear(texture(u_albedo, v_uv).rgb) * u_tint;
    if (!u_shaded) {
        f_color = vec4(linear_to_srgb(albedo), 1.0);
        return;
    }
    vec3 n = normalize(v_normal);
    bool inside = n.z < 0.0;            // the mask's inner side, seen past its edge
    if (inside) n = -n;
    float fold = 0.0;
    vec3 detail = vec3(0.5);
    if (u_detail_strength > 0.0) {
        detail = texture(u_detail, v_uv * u_detail_repeat).xyz;
        albedo *= 1.0 + u_detail_strength * (2.0 * detail.z - 1.0);
    }
    vec3 uncreased = n;
    if (u_has_normal_map || u_crease_count > 0 || u_detail_strength > 0.0) n = perturbed_normal(n, detail, fold, uncreased);
    vec3 light = max(sh_irradiance(uncreased), vec3(0.0));
    float creased = dot(max(sh_irradiance(n), vec3(0.0)), LUMINANCE) * max(1.0 - 0.25 * fold, 0.0);  // a valley sees less sky
    light *= clamp(creased / max(dot(light, LUMINANCE), 1e-6), CREASE_SHADE.x, CREASE_SHADE.y);
    // Fabric sheen: fibres catch the light toward grazing view angles, in the light's colour, and a
    // broad highlight where the surface turns halfway between the key light and the camera.
    float grazing = 1.0 - clamp(n.z, 0.0, 1.0);
    vec3 key_direction;
    vec3 key = key_light(key_direction);
    float highlight = pow(max(dot(n, normalize(key_direction + vec3(0.0, 0.0, 1.0))), 0.0), 4.0);
    vec3 colour = albedo * light + u_sheen * (0.3 * grazing * grazing * light + 0.3 * highlight * key);
    colour *= (inside ? 0.6 * v_ao : v_ao) * v_shade;
    f_color = vec4(linear_to_srgb(shoulder(u_colour * colour)), 1.0);
}
