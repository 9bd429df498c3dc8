"""The words the LLM generator sends: a reference card of the language, the problem, the best
programs so far (worst first, as FunSearch orders them) and the verifier's feedback."""

from __future__ import annotations

CARD = """\
plmr is a small, total language. A file holds declarations:

kernel NAME(x: f32[N, D], w: f32[D]) -> f32[N] {   # shapes: names, integers, + - * (f16 bf16 f32 f64 i32)
  y[n] = sum(d) x[n, d] * w[d]                      # each tensor assigned once; indices on the left range
  return y                                          # over the sizes the accesses imply
}
- reductions sum/max/min/prod bind like Σ: `sum(k) a[k] * b[k] + c` is (Σ a·b) + c; widen with ( … ).
- an index on the right must be on the left or bound by a reduction; indices are affine (x[i + k]).
- values: + - * / ** , comparisons (1 or 0), where(c, a, b), inf, exp log sqrt rsqrt tanh sigmoid
  softplus erf relu abs maximum minimum; index variables and dimensions are values too.

layout NAME for KERNEL on MESH[NY x NX] {           # spread a kernel over a grid of processing elements
  A[i@y, k@x]  B[k@y, j@x]  C[i@y, j@x]             # optional placements: a dim split over a mesh axis
  algorithm = meshgemm                              # gemm: meshgemm | cannon | summa
  reduce k = ktree(2)                               # allreduce of a split reduction: chain | ring | ktree(K)
}

agent NAME(actions = 2) {                           # a cognitive model of choices in a bandit task
  param alpha: unit = 0.3                           # unit (0,1), positive (0,inf), real, bounded(lo, hi)
  state q[a] = 0.5                                  # per-session state; every state index ranges over actions
  logits[a] = beta * q[a]                           # the policy before each choice: softmax(logits)
  update(c: choice, r: reward) {                    # after each trial, statements in order;
    q[a] = q[a] + alpha * (r - q[a]) * (a == c)     # c is the chosen action (usable as an index: q[c])
  }
}
"""

GOALS = {
    "cycles": "fewer simulated cycles on the wafer, with no PLMR violation (memory per PE, route tags)",
    "seconds": "a faster kernel on the JAX backend that computes exactly what the reference computes",
    "nl": "a higher held-out normalized likelihood of the subjects' choices",
}


def build_prompt(problem, start_source: str, examples, failures) -> list[dict]:
    """Chat messages for one generation step."""
    parts = [f"Problem {problem.name}: write a better {problem.kind}. Goal: {GOALS[problem.score]}."]
    if problem.shapes:
        parts.append("Sizes: " + ", ".join(f"{k} = {v}" for k, v in problem.shapes))
    if problem.target:
        parts.append(f"Target: at most {problem.target[1]} x {problem.target[2]} PEs of {problem.target[0]}.")
    parts.append(f"The starting program:\n```plmr\n{start_source.strip()}\n```")
    for i, program in enumerate(examples):
        parts.append(f"Version {i} (score {program.score:.6g}):\n```plmr\n{program.source.strip()}\n```")
    for failure in failures:
        v = failure.verdict
        parts.append(f"A recent attempt failed at stage {v.stage}:\n```plmr\n{failure.source.strip()}\n```\n"
                     f"Verifier: {v.feedback}")
    parts.append("Reply with one improved program in a single ```plmr fenced block; keep the same kind of "
                 "declaration. Explain nothing outside the block.")
    return [{"role": "system", "content": "You write programs in the plmr language.\n\n" + CARD},
            {"role": "user", "content": "\n\n".join(parts)}]
