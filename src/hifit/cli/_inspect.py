"""The ``pyhf inspect`` summary table, reproduced character for character."""

from __future__ import annotations

from typing import Any

from ..pyhf_workspace import Workspace


def summary(ws: Workspace) -> dict[str, Any]:
    """The facts ``pyhf inspect`` reports, as JSON-ready data."""
    spec = ws.spec()
    model = ws.model()
    config = model.config
    modifiers: dict[str, str] = {}
    types_of: dict[str, set[str]] = {}
    for channel in spec["channels"]:
        for sample in channel["samples"]:
            for mod in sample["modifiers"]:
                modifiers[mod["name"]] = mod["type"]
                types_of.setdefault(mod["name"], set()).add(mod["type"])
    systematics = [
        [p.name, p.constraint, sorted(types_of.get(p.name, set()))]
        for p in sorted(config.paramsets, key=lambda p: p.name)
    ]
    measurements = [
        [m["name"], m["config"]["poi"], [p["name"] for p in m["config"]["parameters"]]]
        for m in spec["measurements"]
    ]
    return {
        "channels": [[c, n] for c, n in config.channel_nbins.items()],
        "samples": sorted({s["name"] for c in spec["channels"] for s in c["samples"]}),
        "parameters": [[s[0], s[1]] for s in systematics],
        "modifiers": modifiers,
        "systematics": systematics,
        "measurements": measurements,
    }


def render(info: dict[str, Any]) -> str:
    names = (
        [c for c, _ in info["channels"]]
        + info["samples"]
        + [p for p, _ in info["parameters"]]
        + [m[0] for m in info["measurements"]]
    )
    w = max(len(n) for n in names)
    lines = [
        "{:>{}}  {}".format("     Summary     ", w + 7, ""),
        "{:>{}}  {}".format("-" * 18, w + 7, ""),
    ]
    counts = {
        "channels": len(info["channels"]),
        "samples": len(info["samples"]),
        "parameters": len(info["parameters"]),
        "modifiers": len(info["modifiers"]),
    }
    lines += [f"{key:>{w}}  {count}" for key, count in counts.items()] + [""]
    lines += [f"{'channels':>{w}}  {'nbins':^5}", f"{'-' * 10:>{w}}  {'-' * 5:^5}"]
    lines += [f"{c:>{w}}  {n:^5}" for c, n in info["channels"]] + [""]
    lines += [f"{'samples':>{w}}", f"{'-' * 10:>{w}}"]
    lines += [f"{s:>{w}}" for s in info["samples"]] + [""]
    lines += [
        f"{'parameters':>{w}}  {'constraint':<22}  modifiers",
        f"{'-' * 10:>{w}}  {'-' * 10:<22}  {'-' * 10}",
    ]
    lines += [f"{n:>{w}}  {c:<22}  {','.join(t)}" for n, c, t in info["systematics"]]
    lines += [""]
    lines += [
        f"{'measurement':>{w}}  {'poi':^22}  parameters",
        f"{'-' * 10:>{w}}  {'-' * 10:^22}  {'-' * 10}",
    ]
    for i, (name, poi, pars) in enumerate(info["measurements"]):
        label = f"(*) {name}" if i == 0 else name
        lines.append(f"{label:>{w}}  {poi:^22}  {','.join(pars) or '(none)'}")
    lines.append("")
    return "\n".join(lines) + "\n"
