"""The examples of DESIGN.md §3, verbatim: every test that checks them imports them from here."""

DESIGN_KERNELS = """
kernel softmax(x: f32[N, D]) -> f32[N, D] {
  m[n]    = max(d) x[n, d]
  e[n, d] = exp(x[n, d] - m[n])
  s[n]    = sum(d) e[n, d]
  y[n, d] = e[n, d] / s[n]
  return y
}

kernel conv1d(x: f32[N], w: f32[K]) -> f32[N - K + 1] {
  y[i] = sum(k) x[i + k] * w[k]
  return y
}
"""

DESIGN_MESH_LAYOUTS = """
mesh wse2 {
  pes    = 750 x 994
  memory = 48 KiB          # per PE
  clock  = 1.1 GHz
  link   = 4 B/cycle       # per direction, per neighbour link
  hop    = 1 cycle         # alpha: router pass-through per hop
  relay  = 5 cycles        # beta: each time a PE's software forwards or combines a message
  routes = 24              # route tags ("colours") per PE; 3 reserved by the host interface
  fmac   = 4 / cycle       # fp16 multiply-adds per PE per cycle
}

layout gemm_on_wafer for gemm on wse2[64 x 64] {
  A[i@y, k@x]  B[k@y, j@x]  C[i@y, j@x]     # a tensor dim split over a mesh axis
  algorithm = meshgemm                      # or cannon, summa
}

layout gemv_on_wafer for gemv on wse2[64 x 64] {
  W[j@y, k@x]  v[k@x]                       # v is replicated along y (axis not named)
  reduce k = ktree(2)                       # or chain, ring
}
"""

DESIGN_AGENT = """
agent q_learning(actions = 2) {
  param alpha: unit     = 0.3      # fitted in (0, 1)
  param beta:  positive = 3.0      # fitted in (0, inf)
  param kappa: real     = 0.0
  state q[a]    = 0.5
  state prev[a] = 0
  logits[a] = beta * q[a] + kappa * prev[a]
  update(c: choice, r: reward) {
    q[a]    = q[a] + alpha * (r - q[a]) * (a == c)
    prev[a] = (a == c)
  }
}
"""
