"""Short care articles by department, attachable to follow-ups (and, later, shown on the patient's link).
The demo texts are the project's own, kept short and practical."""
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import CareArticle, Followup, Staff, new_code
from portal.services import ServiceError

DEFAULT_ARTICLES = [
    ("paediatric", "孩子的第一口好牙", "Good teeth from the start",
     "乳牙虽然会换，但它们为恒牙保留位置，也影响孩子咀嚼和说话。从第一颗牙萌出起，每天用软毛牙刷为孩子清洁两次；"
     "三岁以后可以使用豌豆大小的含氟牙膏。每三到六个月来做一次检查，医生会根据情况建议涂氟或窝沟封闭。睡前不要让孩子含着奶瓶入睡。",
     "Milk teeth fall out, but they hold space for the adult teeth and help children chew and speak. Clean your "
     "child's teeth twice a day with a soft brush from the first tooth on; from age three, use a pea-sized amount "
     "of fluoride toothpaste. Come for a check every three to six months: the dentist may suggest fluoride varnish "
     "or fissure sealants. Avoid letting your child fall asleep with a bottle."),
    ("periodontal", "牙龈出血不是小事", "Bleeding gums are worth attention",
     "刷牙时牙龈出血，往往是牙菌斑在牙龈边缘堆积引起的炎症。坚持每天用牙线或牙间刷清洁牙缝，刷牙时刷毛对准牙龈边缘轻轻震动。"
     "洁治之后的几天里牙齿可能有些敏感，这是正常现象。牙周治疗后建议每三个月复查一次，以便及早发现问题。",
     "Gums that bleed when you brush are usually inflamed by plaque along the gum line. Clean between your teeth "
     "every day with floss or an interdental brush, and angle the bristles gently at the gum line. Teeth may feel "
     "sensitive for a few days after scaling; that is normal. After gum treatment, a check every three months "
     "catches problems early."),
    ("aesthetic", "贴面与美白之后", "After veneers or whitening",
     "美白后的两天内，尽量避免咖啡、浓茶、红酒和深色酱汁，也不要吸烟。贴面和树脂修复不怕日常使用，但不要用门牙咬硬物、开瓶盖。"
     "如果晚上有磨牙习惯，请告诉医生，我们可以为您制作保护牙套。定期洁治能让修复体保持光泽。",
     "For two days after whitening, avoid coffee, strong tea, red wine, dark sauces and smoking. Veneers and "
     "composite work handle everyday use, but do not bite hard objects or open bottles with your front teeth. If "
     "you grind your teeth at night, tell us: a night guard protects the work. Regular cleaning keeps it bright."),
    ("implant", "种植牙的长期维护", "Looking after an implant",
     "种植牙不会龋坏，但周围的牙龈和骨组织仍可能发炎。手术后一周内吃软食、避免剧烈运动，按医嘱使用漱口水。"
     "日常用牙间刷或冲牙器清洁种植牙周围。若出现肿胀、渗出或咬合时松动感，请尽快联系我们。之后每三到六个月复查一次。",
     "An implant cannot decay, but the gum and bone around it can still become inflamed. In the first week after "
     "surgery eat soft food, avoid strenuous exercise and use the mouthwash as advised. Every day, clean around the "
     "implant with an interdental brush or water flosser. Swelling, discharge or a loose feeling when biting: "
     "call us promptly. Then come for a check every three to six months."),
    ("surgical", "拔牙后的注意事项", "After a tooth extraction",
     "咬紧棉球约半小时；当天不要漱口、不要用吸管，避免用患侧咀嚼。头一天可以间断冷敷减轻肿胀。"
     "少量渗血属正常，若出血不止、疼痛在两三天后反而加重或出现发热，请及时联系诊所。",
     "Bite on the gauze for about half an hour. On the first day, do not rinse, do not use a straw and chew on the "
     "other side. Cold packs on and off during the first day reduce swelling. A little oozing is normal; if "
     "bleeding does not stop, pain grows worse after two or three days, or you get a fever, contact us."),
]


def ensure_articles() -> int:
    if CareArticle.select().exists():
        return 0
    with unit_of_work():
        for dept, title_zh, title_en, body_zh, body_en in DEFAULT_ARTICLES:
            CareArticle.create(code=new_code(), department=dept, title_zh=title_zh, title_en=title_en,
                               body_zh=body_zh, body_en=body_en)
    return len(DEFAULT_ARTICLES)


def catalogue() -> list[CareArticle]:
    return list(CareArticle.select().where(CareArticle.active == True)  # noqa: E712
                .order_by(CareArticle.department, CareArticle.id))


def attach(followup: Followup, article: CareArticle | None, actor: Staff) -> None:
    if article is not None and not article.active:
        raise ServiceError(_l("This article is withdrawn."), field="article")
    with unit_of_work():
        Followup.update(article=article).where(Followup.id == followup.id).execute()
        audit.record("update", patient=followup.patient_id, object_type="followup", object_ref=followup.code,
                     actor=actor, detail={"article": article.code if article else None})
