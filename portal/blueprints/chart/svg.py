"""Geometry of the odontogram: where each tooth and surface is drawn, its fills, marks and label.

Upper arch 18→11 | 21→28 on top, lower arch 48→41 | 31→38 below: the patient's right on the
viewer's left, as the dentist faces the patient. Each tooth is the usual five-surface diagram
(buccal/labial on the outside of the arch, lingual/palatal towards the tongue, mesial towards the
midline, occlusal or incisal in the centre) with its root(s) drawn towards the tooth number.
"""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.services.chart_teeth import KINDS, STATUS_LABELS, STATUS_MARKS, SURFACE_LABELS, is_anterior, is_primary, is_upper

CELL, STEP, MID, PAD = 52, 56, 14, 10
WIDTH = PAD * 2 + STEP * 16 + MID
HEIGHT = 226
STATUS_COLOURS = {"existing": "#1d4ed8", "planned": "#dc2626", "done": "#15803d"}
SURFACE_KINDS = [k for k, v in KINDS.items() if v.surfaces]

QUADRANT_NAMES = {1: _l("upper right"), 2: _l("upper left"), 3: _l("lower left"), 4: _l("lower right")}
POSITION_NAMES = {1: _l("central incisor"), 2: _l("lateral incisor"), 3: _l("canine"), 4: _l("first premolar"), 5: _l("second premolar"),
                  6: _l("first molar"), 7: _l("second molar"), 8: _l("third molar")}
PRIMARY_POSITION_NAMES = {1: _l("central incisor"), 2: _l("lateral incisor"), 3: _l("canine"), 4: _l("first molar"),
                          5: _l("second molar")}


def tooth_name(tooth: int) -> str:
    quadrant = tooth // 10 - (4 if is_primary(tooth) else 0)
    names = PRIMARY_POSITION_NAMES if is_primary(tooth) else POSITION_NAMES
    return _("%(quadrant)s %(position)s", quadrant=QUADRANT_NAMES[quadrant], position=names[tooth % 10]) + (
        " " + _("(primary)") if is_primary(tooth) else "")


def surface_sides(tooth: int) -> dict[str, str]:
    """Which drawn side shows which surface letter."""
    right_of_patient = tooth // 10 in (1, 4, 5, 8)
    outer, inner = ("B", "L")
    top, bottom = (outer, inner) if is_upper(tooth) else (inner, outer)
    return {"top": top, "bottom": bottom, "left": "D" if right_of_patient else "M",
            "right": "M" if right_of_patient else "D", "centre": "I" if is_anterior(tooth) else "O"}


def _pts(*points):
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def _fill(entry):
    if entry is None:
        return "#fff"
    return f"url(#p-{entry.kind}-{entry.status})"


def _summary(tv) -> str:
    parts = []
    for e in tv.entries:
        where = f" {e.surfaces}" if e.surfaces else ""
        grade = f" {e.grade}" if e.grade else ""
        parts.append(f"{KINDS[e.kind].label}{where}{grade} ({STATUS_LABELS[e.status]})")
    return "; ".join(parts) if parts else _("no findings")


def layout(view) -> list[dict]:
    """One dict per shown tooth with everything the template draws."""
    teeth = []
    for row, quadrants in ((0, (1, 2)), (1, (4, 3))):
        for i, pos in enumerate(view.row(quadrants)):
            tv = view.teeth.get(pos)
            if tv is None:
                continue
            tooth = tv.tooth
            size = 32 if is_primary(tooth) else 40
            x = PAD + i * STEP + (MID if i >= 8 else 0)
            cx = x + CELL / 2
            by = (58 if row == 0 else 160) - size / 2
            bx = cx - size / 2
            k = size * 0.3
            sides = surface_sides(tooth)
            polys = {
                "top": _pts((bx, by), (bx + size, by), (bx + size - k, by + k), (bx + k, by + k)),
                "bottom": _pts((bx, by + size), (bx + size, by + size), (bx + size - k, by + size - k),
                               (bx + k, by + size - k)),
                "left": _pts((bx, by), (bx + k, by + k), (bx + k, by + size - k), (bx, by + size)),
                "right": _pts((bx + size, by), (bx + size - k, by + k), (bx + size - k, by + size - k),
                              (bx + size, by + size)),
            }
            surfaces = [{"points": polys[side], "letter": sides[side], "fill": _fill(tv.surface_fill(sides[side])),
                         "title": SURFACE_LABELS[sides[side]]} for side in ("top", "bottom", "left", "right")]
            centre = {"x": bx + k, "y": by + k, "size": size - 2 * k, "letter": sides["centre"],
                      "fill": _fill(tv.surface_fill(sides["centre"])), "title": SURFACE_LABELS[sides["centre"]]}
            # Roots point away from the bite: up for the upper arch, down for the lower.
            sign = -1 if row == 0 else 1
            root_base = by if row == 0 else by + size
            apex = root_base + sign * 16
            molar = tooth % 10 >= (4 if is_primary(tooth) else 6)
            roots = ([(cx - size * 0.3, cx - size * 0.15), (cx + size * 0.15, cx + size * 0.3)] if molar
                     else [(cx - size * 0.18, cx + size * 0.18)])
            root_polys = [_pts((a, root_base), (b, root_base), ((a + b) / 2, apex)) for a, b in roots]
            whole = tv.whole()
            marks = [f"{KINDS[e.kind].letter}{e.grade or ''}{STATUS_MARKS[e.status]}" for e in tv.entries]
            codes = list(dict.fromkeys(marks))
            lines = [" ".join(codes[j:j + 3]) for j in range(0, min(len(codes), 6), 3)]
            teeth.append({
                "tooth": tooth, "pos": pos, "state": tv.slot.state, "primary": is_primary(tooth),
                "x": x, "cx": cx, "bx": bx, "by": by, "size": size, "surfaces": surfaces, "centre": centre,
                "roots": root_polys, "root_base": root_base, "apex": apex, "row": row,
                "num_y": 16 if row == 0 else 218, "letters_y": (by + size + 14) if row == 0 else (by - 16),
                "lines": lines, "line_dir": 1 if row == 0 else -1,
                "crown": next((e for e in whole if e.kind in ("crown", "bridge_abutment", "veneer")), None),
                "rct": next((e for e in whole if e.kind == "root_canal"), None),
                "implant": next((e for e in whole if e.kind == "implant"), None),
                "gone": next((e for e in whole if e.kind in ("missing", "extraction", "bridge_pontic")), None),
                "lesion": next((e for e in whole if e.kind == "periapical"), None),
                "label": _("Tooth %(n)d, %(name)s: %(findings)s", n=tooth, name=tooth_name(tooth),
                           findings=_summary(tv)),
                "has_entries": bool(tv.entries),
            })
    return teeth


PICKER = 150  # the tooth panel's drawing: 150 px, every surface region at least 48 px deep
_PICKER_POLYS = {
    "top": ((0, 0), (150, 0), (102, 48), (48, 48)), "bottom": ((0, 150), (150, 150), (102, 102), (48, 102)),
    "left": ((0, 0), (48, 48), (48, 102), (0, 150)), "right": ((150, 0), (102, 48), (102, 102), (150, 150)),
    "centre": ((48, 48), (102, 48), (102, 102), (48, 102)),
}
_PICKER_LETTER_AT = {"top": (75, 30), "bottom": (75, 132), "left": (24, 81), "right": (126, 81), "centre": (75, 81)}


def picker_regions(tooth: int) -> list[dict]:
    """The five surfaces of one tooth drawn large in its panel, as on the chart (same sides), so a
    finger picks M, O/I, D, B or L for the entry form."""
    sides = surface_sides(tooth)
    return [{"letter": sides[side], "points": _pts(*_PICKER_POLYS[side]), "title": SURFACE_LABELS[sides[side]],
             "x": _PICKER_LETTER_AT[side][0], "y": _PICKER_LETTER_AT[side][1]}
            for side in ("top", "left", "centre", "right", "bottom")]
