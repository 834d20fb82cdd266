"""Consent forms 知情同意书 (issue 14): versioned templates per procedure kind, seeded with the
clinic's starting wording (the manager edits them: an edit is a new version), and the forms filled
from them with the exact text signed, its SHA-256 hash and the signers' vector strokes."""
from portal.db import db
from portal.models.base import utcnow

# kind, procedures needing it, title zh/en, body zh/en, alternatives zh/en, cost zh/en
SEED = [
    ("extraction", "SUR-EXT", "拔牙知情同意书", "Consent to tooth extraction",
     "医生将在局部麻醉下拔除患牙（牙位见上）。可能的风险：术中术后出血、肿胀疼痛、干槽症、邻牙或修复体损伤、"
     "牙根折断需翻瓣取出、下唇或舌麻木（多为暂时性）、上颌窦穿通、张口受限、感染。",
     "The doctor will remove the tooth named above under local anaesthesia. Possible risks: bleeding during or "
     "after the procedure, swelling and pain, dry socket, damage to a neighbouring tooth or restoration, a broken "
     "root needing surgical removal, numbness of the lip or tongue (usually temporary), an opening into the "
     "sinus, limited mouth opening, infection.",
     "保留患牙并进行根管治疗或观察；暂不处理（可能加重感染或疼痛）。",
     "Keep the tooth with root canal treatment or watchful waiting; no treatment for now (infection or pain may "
     "get worse).",
     "费用按本诊所价目表收取，复杂拔除可能增加费用，医生会事先说明。",
     "Fees follow the clinic's price list; a difficult extraction may cost more, and the doctor will say so first."),
    ("implant", "IMP-DIG", "种植牙知情同意书", "Consent to dental implant surgery",
     "医生将在局部麻醉下植入种植体，愈合后完成修复。可能的风险：出血肿胀、感染、神经损伤导致麻木、上颌窦问题、"
     "种植体不能形成骨结合需取出重做、需植骨、种植体周围炎；吸烟、糖尿病及口腔卫生不佳会增加失败风险。",
     "The doctor will place an implant under local anaesthesia and restore it once healed. Possible risks: "
     "bleeding and swelling, infection, nerve injury causing numbness, sinus problems, the implant not joining "
     "the bone and having to be removed and placed again, the need for a bone graft, inflammation around the "
     "implant; smoking, diabetes and poor oral hygiene raise the risk of failure.",
     "固定桥、活动义齿或暂不修复。", "A fixed bridge, a removable denture, or leaving the gap for now.",
     "种植体、基台、牙冠及可能的植骨费用按治疗计划报价，分次收取。",
     "Implant, abutment, crown and any bone graft are priced in the treatment plan quote and paid in stages."),
    ("root_canal", "END-MRC", "根管治疗知情同意书", "Consent to root canal treatment",
     "医生将清理、成形并充填根管，通常需要多次就诊。可能的风险：治疗期间疼痛肿胀、器械折断于根管内、根管钙化无法疏通、"
     "侧穿、治疗后牙齿变脆需冠修复、症状持续需再治疗或拔除。",
     "The doctor will clean, shape and fill the root canals, usually over several visits. Possible risks: pain "
     "or swelling during treatment, an instrument breaking inside a canal, a calcified canal that cannot be "
     "opened, a perforation, a brittle tooth afterwards that needs a crown, symptoms that persist and need "
     "retreatment or extraction.",
     "拔除患牙后修复缺失；暂不处理（可能加重感染）。",
     "Extract the tooth and replace it; no treatment for now (infection may spread).",
     "根管治疗与后续牙冠费用分别计算，按价目表收取。",
     "Root canal treatment and the crown that follows are charged separately, as in the price list."),
    ("orthodontics", "", "正畸治疗知情同意书", "Consent to orthodontic treatment",
     "正畸治疗通过矫治器逐步移动牙齿，疗程通常一至三年。可能的风险：牙根吸收、牙龈退缩、脱矿白斑与龋坏、"
     "颞下颌关节不适、疗效受配合程度影响、停戴保持器后复发。",
     "Orthodontic treatment moves teeth gradually with braces or aligners, usually over one to three years. "
     "Possible risks: root shortening, gum recession, white spots and decay, jaw joint discomfort, results that "
     "depend on how well the appliance is worn, relapse if retainers are not worn.",
     "不矫治；仅做修复性改善（如贴面）。", "No treatment; cosmetic improvement only (such as veneers).",
     "正畸总费用按方案报价，可分期支付；保持器及额外矫治器另计。",
     "The total fee is quoted for the plan and may be paid in instalments; retainers and extra aligners are "
     "charged separately."),
    ("whitening", "AES-WHT", "牙齿美白知情同意书", "Consent to tooth whitening",
     "医生将使用美白凝胶配合光照使牙齿颜色变浅。可能的风险：治疗后数日牙齿敏感、牙龈刺激、颜色改善因人而异、"
     "原有充填体和牙冠不会变色、效果会随时间及饮食减退。",
     "The doctor will lighten the teeth with a whitening gel and light. Possible risks: sensitive teeth for a "
     "few days, gum irritation, results that vary from person to person, fillings and crowns that do not "
     "change colour, and an effect that fades with time and diet.",
     "家庭美白、贴面或不治疗。", "Home whitening trays, veneers, or no treatment.",
     "按价目表收取，不含之后的补充美白。", "As in the price list; later top-up sessions are extra."),
    ("sedation", "", "镇静麻醉知情同意书", "Consent to sedation and anaesthesia",
     "为减轻疼痛和紧张，医生将使用局部麻醉或镇静药物。可能的风险：过敏反应、注射部位血肿、头晕恶心、"
     "暂时性麻木、极少数情况下呼吸抑制；术前须告知全部疾病与用药，镇静后当日不得驾车。",
     "To reduce pain and anxiety the doctor will use local anaesthesia or a sedative. Possible risks: an "
     "allergic reaction, a bruise where injected, dizziness or nausea, temporary numbness, and very rarely "
     "slowed breathing; tell the doctor about every illness and medicine, and do not drive on the day of "
     "sedation.",
     "不使用镇静，仅局部麻醉；或转诊至医院在全麻下治疗。",
     "Local anaesthesia without sedation, or referral to a hospital for treatment under general anaesthesia.",
     "镇静费用另计，按价目表收取。", "Sedation is charged separately, as in the price list."),
    ("minor", "", "未成年人治疗知情同意书", "Consent to treatment of a minor",
     "患者未满十八周岁，须由监护人阅读并签署。治疗中儿童可能哭闹或不配合，医生会视情况暂停或改期；"
     "需要时使用局部麻醉，术后请监护人看护，防止咬伤麻木的嘴唇和舌头。",
     "The patient is under eighteen: a guardian reads and signs this form. A child may cry or not cooperate; "
     "the doctor may pause or rebook. Local anaesthesia is used when needed; afterwards the guardian watches "
     "that the child does not bite the numb lip or tongue.",
     "推迟治疗并观察；转诊至儿童口腔专科。", "Postpone and observe; referral to a children's dental specialist.",
     "按价目表收取，医生会在治疗前说明。", "As in the price list; the doctor explains the fee before treating."),
]


def up(run):
    run("""CREATE TABLE consent_template (
        id {pk},
        kind VARCHAR(20) NOT NULL,
        version INTEGER NOT NULL,
        title_zh VARCHAR(80) NOT NULL,
        title_en VARCHAR(120) NOT NULL,
        body_zh {text} NOT NULL,
        body_en {text} NOT NULL,
        alternatives_zh {text} NOT NULL,
        alternatives_en {text} NOT NULL,
        cost_zh {text} NOT NULL,
        cost_en {text} NOT NULL,
        procedures VARCHAR(200) NOT NULL,
        created_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL)""")
    run("CREATE UNIQUE INDEX consent_template_kind_version ON consent_template (kind, version)")
    run("CREATE INDEX consent_template_created_by_id ON consent_template (created_by_id)")
    run("""CREATE TABLE consent_form (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        template_id INTEGER NOT NULL REFERENCES consent_template (id) ON DELETE RESTRICT,
        visit_id INTEGER REFERENCES visit (id) ON DELETE SET NULL,
        plan_item_id INTEGER REFERENCES plan_item (id) ON DELETE SET NULL,
        procedure_id INTEGER REFERENCES procedure (id) ON DELETE SET NULL,
        tooth VARCHAR(40) NOT NULL,
        lang VARCHAR(5) NOT NULL,
        text {text} NOT NULL,
        text_hash VARCHAR(64) NOT NULL,
        status VARCHAR(10) NOT NULL CHECK (status IN ('draft', 'signed')),
        signer_kind VARCHAR(10) NOT NULL CHECK (signer_kind IN ('patient', 'guardian')),
        signer_name VARCHAR(60) NOT NULL,
        relationship VARCHAR(30) NOT NULL,
        patient_strokes {text} NOT NULL,
        patient_signed_at {ts},
        doctor_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        doctor_strokes {text} NOT NULL,
        doctor_signed_at {ts},
        created_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        created_at {ts} NOT NULL)""")
    for column in ("template_id", "visit_id", "plan_item_id", "procedure_id", "doctor_id", "created_by_id"):
        run(f"CREATE INDEX consent_form_{column} ON consent_form ({column})")
    run("CREATE INDEX consent_form_patient_id_created_at ON consent_form (patient_id, created_at)")
    now = utcnow()
    sql = ("INSERT INTO consent_template (kind, version, title_zh, title_en, body_zh, body_en, alternatives_zh, "
           "alternatives_en, cost_zh, cost_en, procedures, created_at) "
           "VALUES (%s, 1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)").replace("%s", db.param)
    for kind, procs, tzh, ten, bzh, ben, azh, aen, czh, cen in SEED:
        db.execute_sql(sql, (kind, tzh, ten, bzh, ben, azh, aen, czh, cen, procs, now))
