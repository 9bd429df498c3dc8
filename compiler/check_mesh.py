"""Check a `mesh` declaration: every property once, with the right unit; the result is the device.

The checked form of a mesh is a `runtime.mesh.MeshDevice` (plain data the simulator reads), so a
mesh written in a file and the built-in `wse2()` are the same kind of thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl import ast
from dsl.diagnostics import Diagnostics, Note, PlmrError
from runtime.mesh.device import MeshDevice


@dataclass(frozen=True, slots=True)
class Unit:
    """A family of units: its scale factors, what it measures, and an example to show."""

    what: str
    scales: dict
    example: str


SIZE = Unit("a size", {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "KB": 1000, "MB": 1000 ** 2}, "48 KiB")
FREQUENCY = Unit("a frequency", {"Hz": 1, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9}, "1.1 GHz")
BANDWIDTH = Unit("a bandwidth", {"B/cycle": 1}, "4 B/cycle")
CYCLES = Unit("a time in cycles", {"cycle": 1, "cycles": 1}, "5 cycles")
COUNT = Unit("a plain count", {None: 1}, "24")
RATE = Unit("a rate per cycle", {"/cycle": 1}, "4 / cycle")


@dataclass(frozen=True, slots=True)
class Property:
    """One mesh property: the MeshDevice field it sets, its unit, whether it must be an integer."""

    field: str
    unit: Unit
    integer: bool
    required: bool
    meaning: str


PROPERTIES = {
    "memory": Property("memory_bytes", SIZE, True, True, "memory per PE"),
    "clock": Property("clock_hz", FREQUENCY, False, True, "clock frequency"),
    "link": Property("link_bytes_per_cycle", BANDWIDTH, True, True, "bytes per cycle per link direction"),
    "hop": Property("alpha", CYCLES, False, True, "router pass-through per hop (alpha)"),
    "relay": Property("beta", CYCLES, False, True, "software forward or combine per relay stage (beta)"),
    "routes": Property("routes", COUNT, True, True, "route tags per PE"),
    "fmac": Property("fmac_per_cycle", RATE, True, True, "fp16 multiply-adds per PE per cycle"),
    "reserved": Property("reserved_routes", COUNT, True, False, "route tags kept by the host interface"),
    "overhead": Property("task_overhead_cycles", CYCLES, True, False, "fixed cycles per compute task"),
    "code": Property("code_bytes", SIZE, True, False, "bytes of each PE's memory taken by code"),
}
REQUIRED = ("pes",) + tuple(name for name, p in PROPERTIES.items() if p.required)


def check_mesh(decl: ast.Mesh, diags: Diagnostics) -> MeshDevice | None:
    """The device a mesh declaration describes, or None after adding diagnostics."""
    before = len(diags.items)
    values: dict[str, object] = {}
    seen: dict[str, ast.MeshProp] = {}
    for prop in decl.props:
        name = prop.name.name
        if name in seen:
            diags.add("E603", f"mesh {decl.name.name} sets {name} twice", prop.name.span,
                      notes=(Note("first set here", seen[name].name.span),), help=f"keep one {name} line")
            continue
        seen[name] = prop
        _check_property(decl, prop, values, diags)
    _check_required(decl, seen, diags)
    if len(diags.items) > before:
        return None
    return _device(decl, values, diags)


def _check_property(decl: ast.Mesh, prop: ast.MeshProp, values: dict, diags: Diagnostics) -> None:
    name = prop.name.name
    if name == "pes":
        _check_pes(prop, values, diags)
        return
    spec = PROPERTIES.get(name)
    if spec is None:
        known = ", ".join(("pes",) + tuple(PROPERTIES))
        diags.add("E601", f"mesh {decl.name.name} has no property {name!r}", prop.name.span,
                  help=f"mesh properties are: {known}")
        return
    if not isinstance(prop.value, ast.Quantity):
        diags.add("E604", f"{name} is {spec.unit.what}, not a grid: write it like {spec.unit.example}",
                  prop.value.span)
        return
    value = _quantity(name, spec, prop.value, diags)
    if value is not None:
        values[spec.field] = value


def _check_pes(prop: ast.MeshProp, values: dict, diags: Diagnostics) -> None:
    if not isinstance(prop.value, ast.Grid):
        diags.add("E604", "pes is a grid of PEs: write it as ROWS x COLUMNS, e.g. 750 x 994", prop.value.span)
    elif prop.value.rows < 1 or prop.value.cols < 1:
        diags.add("E605", "pes needs at least one row and one column", prop.value.span,
                  help="write it as ROWS x COLUMNS, e.g. 750 x 994")
    else:
        values["ny"], values["nx"] = prop.value.rows, prop.value.cols


def _quantity(name: str, spec: Property, q: ast.Quantity, diags: Diagnostics) -> float | int | None:
    """The value in base units (bytes, Hz, cycles), or None after a diagnostic."""
    unit = q.unit.replace(" ", "") if q.unit else None
    scales = spec.unit.scales
    if unit not in scales:
        names = ", ".join(u for u in scales if u) or "no unit"
        wrote = f"'{q.unit}'" if q.unit else "no unit"
        diags.add("E602", f"{name} is {spec.unit.what}: write it in {names}, e.g. {spec.unit.example} "
                  f"(got {wrote})", q.span)
        return None
    value = q.value * scales[unit]
    if spec.integer and value != int(value):
        diags.add("E605", f"{name} ({spec.meaning}) must be a whole number, got {value:g}", q.span)
        return None
    return int(value) if spec.integer else float(value)


def _check_required(decl: ast.Mesh, seen: dict, diags: Diagnostics) -> None:
    missing = [name for name in REQUIRED if name not in seen]
    if missing:
        hints = "; ".join(f"{n} = {PROPERTIES[n].unit.example}" if n in PROPERTIES else "pes = 750 x 994"
                          for n in missing)
        diags.add("E606", f"mesh {decl.name.name} does not set {', '.join(missing)}", decl.name.span,
                  help=f"add {hints}")


def _device(decl: ast.Mesh, values: dict, diags: Diagnostics) -> MeshDevice | None:
    """Build the device; its own range checks (positive sizes, reserved < routes) become diagnostics."""
    try:
        return MeshDevice(decl.name.name, **values)
    except PlmrError as exc:
        for d in exc.diagnostics:
            diags.add("E605", d.message, decl.name.span, help=d.help)
        return None
