"""Numerical tolerances: the floors that keep divisions and tests of degenerate cases finite.

Each is far below any value that carries meaning in its units, so it only changes results where a
quantity is (numerically) zero.
"""
LENGTH_FLOOR = 1e-12        # vector lengths (any unit) below this normalise to zero, not to NaN
DIRECTION_FLOOR = 1e-9      # lengths of offsets and directions whose sign or cosine is taken
ALPHA_FLOOR = 1e-6          # coverage below this holds no colour: un-premultiplying leaves it black
RADIANCE_FLOOR = 1e-4       # linear radiance (0..1) treated as black: the photo holds no signal there
RATIO_FLOOR = 1e-6          # denominators of measured ratios (gradients, variances, edge lengths in cm)
SOLVE_JITTER = 1e-9         # added to the diagonal of small normal-equation systems so they factorise
CHROMA_FLOOR = 1e-3         # chroma spread below which a photo is treated as colourless
COVARIANCE_JITTER = 1e-6    # px^2 added to a blur covariance so that no blur still inverts
DEGENERATE_DET = 1e-9       # px^2: triangles with a smaller determinant have no area to rasterise
COINCIDENT_CM = 1e-6        # points closer than this are one point
ON_EDGE = 1e-6              # barycentric weights below this put a point on the triangle's edge
