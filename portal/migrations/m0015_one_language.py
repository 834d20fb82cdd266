"""One language per page (issue 13): what the system wrote in one language becomes a key (read in
each reader's language by portal/labels.py), and a clinic's tags and gifts may carry an English name.

- tag.name_en, gift_item.name_en (empty: the name as typed serves both languages); the demo's
  tags and gifts get their English names;
- follow-up rules still named as seeded (in Chinese or English) get the default rule's key; a name
  the manager typed is left as typed. Follow-up topics copied from those names follow;
- bill lines: the registration fee, discounts ("birthday:<pct>", "tier:<tier>:<pct>"), benefits
  (their kind) and procedures (catalogue code, "#<tooth>") as keys;
- desk tasks: a birthday keeps no text (its kind says it), a tier's gift {"tier", "value"};
- doctor tasks: the warning signs as question keys.

The texts below are the ones the seeding code wrote (its English and the Chinese catalog of the
time), written out so that this step always reads the same words.
"""
import json
import re

from portal.db import db

RULE_NAMES = {
    "first_visit_call": ("First-visit call", "初诊回访"), "emergency_call": ("Emergency call", "急诊回访"),
    "revisit_call": ("Revisit call", "复诊回访"), "extraction_next_day": ("Extraction: next day", "拔牙：次日回访"),
    "extraction_healing": ("Extraction: healing (2 months)", "拔牙：愈合情况（2个月）"),
    "extraction_6_months": ("Extraction: 6 months (replacing the tooth)", "拔牙：6个月（缺牙修复）"),
    "implant_first_week": ("Implant: first week", "种植：一周回访"),
    "implant_stability": ("Implant: stability (2 months)", "种植：稳定性回访（2个月）"),
    "implant_durability": ("Implant: durability (9 months)", "种植：持久性复查（9个月）"),
    "aesthetic_first_week": ("Aesthetic work: first week", "美学修复：一周回访"),
    "aesthetic_2_months": ("Aesthetic work: 2 months", "美学修复：2个月回访"),
    "aesthetic_durability": ("Aesthetic work: durability (9 months)", "美学修复：持久效果（9个月）"),
    "routine_recall": ("Routine recall", "常规召回"), "special_recall": ("Special recall", "专项召回"),
}
QUESTIONS = {
    "pain": ("Pain", "疼痛"), "swelling": ("Swelling", "肿胀"), "bleeding": ("Bleeding", "出血"),
    "exudate": ("Exudate (pus or discharge)", "渗出（脓液或分泌物）"), "relieved": ("Symptoms relieved", "症状已缓解"),
    "flossing_daily": ("Flosses every day", "每天使用牙线"),
    "technique_mastered": ("Has mastered the brushing and flossing technique", "已掌握刷牙和使用牙线的方法"),
    "stable": ("Restoration or implant feels stable", "修复体或种植体感觉稳固"),
    "satisfied": ("Satisfied with the care", "对诊疗满意"),
}
BENEFITS = {
    "gift": ("Gift", "礼品"), "scaling": ("Ultrasonic scaling", "超声波洁牙"),
    "air_polishing": ("Air-polishing scaling", "喷砂洁牙"), "facial": ("Facial care", "面部护理"),
    "herbal": ("Herbal therapy", "中药调理"), "fluoride_child": ("Child fluoride varnish", "儿童涂氟"),
    "sealant": ("Pit-and-fissure sealant (per tooth)", "窝沟封闭（每颗牙）"),
}
TIERS = {"member": ("Member", "普通会员"), "senior": ("Senior member", "高级会员"), "vip": ("VIP member", "VIP会员"),
         "diamond": ("Diamond VIP", "钻石VIP")}
REGISTRATION = ("Registration fee", "建档费")
BIRTHDAY_TASK = ("Birthday: hand over the birthday gift", "生日：请送上生日礼品")
DEMO_TAGS = {"儿童患者": "Child patient", "种植牙客户": "Implant patient", "正畸患者": "Orthodontic patient",
             "牙周病患者": "Periodontal patient", "牙齿敏感": "Sensitive teeth", "老年患者": "Elderly patient",
             "VIP": "VIP"}
DEMO_GIFTS = {"电动牙刷": "Electric toothbrush", "漱口水礼盒": "Mouthwash gift box", "生日蛋糕券": "Birthday cake voucher",
              "儿童牙刷套装": "Children's toothbrush set"}
MONEY = re.compile(r"¥\s?([\d,]+)\.(\d{2})")
PERCENT = re.compile(r"(\d+)\s?%")
TOOTH = re.compile(r"#(\d{2})\b")


def _rows(sql, params=()):
    return db.execute_sql(sql.replace("?", db.param), params).fetchall()


def _set(table, column, value, row_id):
    db.execute_sql(f"UPDATE {table} SET {column} = {db.param} WHERE id = {db.param}", (value, row_id))


def _tier_of(text: str) -> str | None:
    # longest names first: "VIP member" before "Member", "钻石VIP" before "VIP会员"
    for key, names in sorted(TIERS.items(), key=lambda kv: -max(len(n) for n in kv[1])):
        if any(n.casefold() in text.casefold() for n in names):
            return key
    return None


def _fen(text: str) -> int | None:
    found = MONEY.search(text)
    return int(found.group(1).replace(",", "")) * 100 + int(found.group(2)) if found else None


def up(run):
    run("ALTER TABLE tag ADD COLUMN name_en VARCHAR(30) NOT NULL DEFAULT ''")
    run("ALTER TABLE gift_item ADD COLUMN name_en VARCHAR(60) NOT NULL DEFAULT ''")
    for table, names in (("tag", DEMO_TAGS), ("gift_item", DEMO_GIFTS)):
        for zh, en in names.items():
            db.execute_sql(f"UPDATE {table} SET name_en = {db.param} WHERE name = {db.param} AND name_en = ''", (en, zh))

    by_name = {name: key for key, names in RULE_NAMES.items() for name in names}
    for row_id, name in _rows("SELECT id, name FROM followup_rule"):
        if name in by_name:
            _set("followup_rule", "name", by_name[name], row_id)
    for row_id, topic in _rows("SELECT id, topic FROM followup WHERE topic <> ''"):
        new = "; ".join(" · ".join(by_name.get(part, part) for part in merged.split(" · "))
                        for merged in topic.split("; "))
        if new != topic:
            _set("followup", "topic", new[:200], row_id)

    questions = {name: key for key, names in QUESTIONS.items() for name in names}
    for row_id, reason in _rows("SELECT id, reason FROM doctor_task"):
        parts = [p.strip() for p in re.split(r"[,，、]", reason) if p.strip()]
        if parts and all(p in questions for p in parts):
            _set("doctor_task", "reason", ",".join(questions[p] for p in parts), row_id)

    procedures = dict(_rows("SELECT id, code FROM procedure"))
    benefits = {name: key for key, names in BENEFITS.items() for name in names}
    for row_id, kind, text, proc_id in _rows("SELECT id, kind, description, procedure_id FROM bill_line "
                                             "WHERE kind IN ('registration', 'discount', 'benefit', 'procedure')"):
        new = text
        if kind == "registration" and text in REGISTRATION:
            new = "registration"
        elif kind == "benefit" and text in benefits:
            new = benefits[text]
        elif kind == "discount" and PERCENT.search(text):
            pct = PERCENT.search(text).group(1)
            tier = _tier_of(text)
            if "birthday" in text.casefold() or "生日" in text:
                new = f"birthday:{pct}"
            elif tier:
                new = f"tier:{tier}:{pct}"
        elif kind == "procedure" and proc_id in procedures:
            tooth = TOOTH.search(text)
            new = procedures[proc_id] + (f" #{tooth.group(1)}" if tooth else "")
        if new != text:
            _set("bill_line", "description", new, row_id)

    gift_texts = {}
    for row_id, kind, detail in _rows("SELECT id, kind, detail FROM desk_task WHERE detail <> ''"):
        new = detail
        if kind == "birthday" and detail in BIRTHDAY_TASK:
            new = ""
        elif kind == "tier_gift" and _tier_of(detail) and _fen(detail) is not None:
            new = json.dumps({"tier": _tier_of(detail), "value": _fen(detail)}, sort_keys=True)
        if new != detail:
            _set("desk_task", "detail", new, row_id)
            gift_texts[detail] = new or f"desk:{kind}"
    for row_id, reason in _rows("SELECT id, reason FROM gift_movement WHERE kind = 'issue'"):
        if reason in gift_texts:
            _set("gift_movement", "reason", gift_texts[reason], row_id)
