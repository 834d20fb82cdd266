"""Follow-ups as seeds 001 and 004 say (issue 11): a clinic whose follow-up rules were seeded before
this step gets the after-care stages that were missing (extraction at 2 and 6 months, aesthetic work
at 9 months) and a special recall that reads diagnoses and chart findings as well as tags.

Only clinics that already have rules are touched (a new clinic seeds the new defaults itself); a
stage the manager already covers with a rule of their own is left alone, and a special-recall rule
the manager has edited keeps the manager's list. Names are in the clinic's default language (zh)."""
from portal.models.base import utcnow

OLD_SPECIAL = "periodontal,implant,orthodontic,牙周病患者,种植牙客户,正畸患者"
NEW_SPECIAL = "牙周病患者,种植牙客户,正畸患者,牙周炎,牙周病,periodontitis,mobility,implant"
# (code, name, department, days, kind, questions, stage bounds in days)
STAGES = [
    ("M12SUR060", "拔牙：愈合情况（2个月）", "surgical", 60, "call", "pain,satisfied", (15, 100)),
    ("M12SUR182", "拔牙：6个月（缺牙修复）", "surgical", 182, "call", "satisfied", (101, 1100)),
    ("M12AES270", "美学修复：持久效果（9个月）", "aesthetic", 270, "review", "stable,satisfied", (101, 1100)),
]


def up(run):
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S")
    for code, name, department, days, kind, questions, (low, high) in STAGES:
        run(f"""INSERT INTO followup_rule (code, name, event, applies_to, offset_days, kind, questions, active,
                version, updated_at)
            SELECT '{code}', '{name}', 'department', '{department}', {days}, '{kind}', '{questions}', {{true}}, 1,
                   '{now}'
            WHERE EXISTS (SELECT 1 FROM followup_rule)
              AND NOT EXISTS (SELECT 1 FROM followup_rule WHERE event = 'department' AND kind <> 'recall'
                              AND applies_to = '{department}' AND offset_days BETWEEN {low} AND {high})""")
    run(f"""UPDATE followup_rule SET applies_to = '{NEW_SPECIAL}', version = version + 1, updated_at = '{now}'
        WHERE event = 'recall_special' AND applies_to = '{OLD_SPECIAL}'""")
