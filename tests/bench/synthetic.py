"""Synthetic patients in bulk, for benchmarks: realistic Chinese names, fast inserts.

`add_patients(start, count)` writes patients number `start` … `start+count-1`; every value is
a pure function of the patient's number and the seed, so a database grown from 1k to 100k in
two steps holds the same first 1k patients as one grown in a single step.

Rows go in with `insert_many` in batches inside one transaction (SQLite: 100k in a few
seconds), with the search keys computed exactly as the app computes them
(`portal.services.identity.pinyin_keys`, `phone_rev` = the phone reversed).

Shapes that keep every value unique and realistic:
- phone: carrier + 4 digits from (n // 10000) + 4 digits from (n % 10000), each scrambled by a
  bijection: unique, and a 4-digit tail is shared by N/10000 patients, as with real numbers;
- chart number: year (2015 + n // 100000) + 6-digit sequence: unique, never the current year,
  so a test registering today does not collide with them;
- in every five patients, three share a family and two are alone; about a fifth of patients
  carry one or two tags.
"""
import itertools
import os
import random
from datetime import date, datetime, timedelta
from functools import lru_cache

import peewee as pw

from portal.db import db, is_postgres
from portal.models import Family, Patient, PatientTag, Tag
from portal.models.base import CODE_ALPHABET
from portal.services.identity import pinyin_keys
from tests.clock import clinic_today

DEFAULT_PATIENTS = 100_000
TAILS = 10_000      # distinct 4-digit phone endings: uniform, as real numbers are
BATCH = 500         # rows per INSERT (26 columns: well under SQLite's 32766 parameters)
SEED = 20260101

# The commonest surnames, most common first, weighted as in the population: the first twenty by
# their shares in percent (王 7.1, 李 7.0, 张 6.8 …), the rest falling off smoothly; with the rarer
# ones after the hundredth these come to 张 ≈ 7% and 王李张刘陈 ≈ 31% of patients, as in a Chinese
# city. A broad pinyin prefix (zhang, wang, li) is then as broad as a real registry's.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
            "邢裴洪傅文施庞樊兰殷翟安颜倪牛温季俞章鲁葛伍申尤毕聂焦柳关祝甘卞包左宁符盛祁房骆齐岳耿吉饶华谷卓车管柴艾"
            "鲍蒙苗滕乔成童宫冷凌辛梅伏易舒费边阮纪仲桑巩")
_TOP_SHARES = (7.1, 7.0, 6.8, 5.4, 4.6, 3.1, 2.2, 2.0, 1.8, 1.7, 1.3, 1.2, 1.1, 1.1, 1.0, 1.0, 0.9, 0.9, 0.9, 0.8)
SURNAME_CUM_WEIGHTS = list(itertools.accumulate(
    _TOP_SHARES[rank] if rank < len(_TOP_SHARES) else 0.8 * 0.985 ** (rank - len(_TOP_SHARES))
    for rank in range(len(SURNAMES))))
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
# Given-name characters: most names are a surname and two of these (张欣怡, zhangxinyi), about one
# in seven a surname and one (张伟). Pools big enough that a full name is rarely shared (at 100k
# patients the commonest, such as 张伟, a few dozen times, as in a real registry).
GIVEN_M = ("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国庆志文博晨睿轩泽子豪宏毅"
           "峰鸿嘉铭翔天昊然一诚成荣德海江川松柏振永康兴家乐安晖远航政启哲皓宸逸")
GIVEN_F = ("芳娜敏静丽艳娟霞燕玲桂芬英华慧巧美娅婷雪琳晶颖倩琪悦欣怡涵萱彤梦瑶佳雨诗梓秀兰"
           "红萍莉凤洁晓玉月春媛蕾薇可心语若嘉思梅露冰妍璐婉清宁蓉菲珊岚")
CARRIERS = ("138", "139", "150", "158", "186", "187", "135", "177", "136", "189", "199", "131")
STREETS = ("幸福路", "人民路", "建设大街", "滨江道", "学府路", "和平里", "长安街", "新华路", "解放路", "中山路")
TAG_NAMES = (("儿童患者", "#f59e0b"), ("种植牙客户", "#6366f1"), ("正畸患者", "#0ea5e9"),
             ("牙周病患者", "#dc2626"), ("VIP", "#a16207"), ("老年患者", "#64748b"))


def bench_size() -> int:
    from tests.bench.conftest import size
    return size("BENCH_PATIENTS", DEFAULT_PATIENTS, 5_000)


@lru_cache(maxsize=None)
def keys(name: str) -> tuple[str, str]:
    return pinyin_keys(name)


def _code(rng: random.Random) -> str:
    return "".join(rng.choice(CODE_ALPHABET) for _ in range(8))


def person(n: int, today: date, seed: int = SEED) -> dict:
    """Patient number n as column values (no ids, no family)."""
    rng = random.Random(seed * 1_000_003 + n)
    sex = "F" if rng.random() < 0.52 else "M"
    surname = (rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.003
               else rng.choices(SURNAMES, cum_weights=SURNAME_CUM_WEIGHTS)[0])
    pool = GIVEN_F if sex == "F" else GIVEN_M
    name = surname + "".join(rng.choice(pool) for _ in range(1 if rng.random() < 0.14 else 2))
    full, initials = keys(name)
    if n >= TAILS * 10_000:
        raise ValueError(f"phones are unique for fewer than {TAILS * 10_000} patients")
    # Two bijections of 0…9999 (multipliers prime to 10000): unique, and they look random.
    phone = f"{rng.choice(CARRIERS)}{(n // TAILS) * 7919 % 10_000:04d}{(n % TAILS) * 3137 % 10_000:04d}"
    age_days = rng.randint(2 * 365, 90 * 365)
    birth = today - timedelta(days=age_days)
    age = age_days // 365
    group = "child" if age < 7 else "student" if age < 23 else "working" if age < 60 else "retired"
    created = datetime(2015, 1, 1) + timedelta(minutes=rng.randint(0, 10 * 365 * 24 * 60))
    return {
        "code": _code(rng), "chart_no": f"{2015 + n // 100_000}{n % 100_000 + 1:06d}",
        "name": name, "name_pinyin": full or name.lower(), "name_initials": initials,
        "sex": sex, "birth_date": birth, "phone": phone, "phone_rev": phone[::-1],
        "phone2": "", "email": "", "id_number": "",
        "address": f"{rng.choice(STREETS)}{rng.randint(1, 400)}号",
        "occupation_group": group, "preferred_channel": rng.choice(("sms", "sms", "phone", "wechat")),
        "preferred_time": rng.choice(("any", "morning", "lunch", "evening")),
        "allergies": rng.choice(("",) * 12 + ("青霉素", "利多卡因", "乳胶")),
        "medical_alerts": rng.choice(("",) * 10 + ("高血压", "服用阿司匹林", "糖尿病")) if age >= 60 else "",
        "referral_channel": rng.choice(("walk_in", "online", "community", "walk_in")),
        "restricted": False, "created_at": created, "updated_at": created,
    }


def ensure_tags() -> list[int]:
    ids = []
    for name, color in TAG_NAMES:
        tag = Tag.get_or_none(Tag.name == name) or Tag.create(name=name, color=color)
        ids.append(tag.id)
    return ids


def _insert(model, rows: list[dict]) -> None:
    """insert_many in batches. peewee builds the statement once per batch size (building it for
    every batch costs more than SQLite takes to run it); values go through each field's
    db_value, as peewee would send them."""
    if not rows:
        return
    fields = [model._meta.fields[name] for name in rows[0]]
    statements = {}
    for batch in pw.chunked(rows, BATCH):
        if len(batch) not in statements:
            statements[len(batch)] = model.insert_many(batch, fields=fields).as_rowcount().sql()[0]
        params = [field.db_value(row[field.name]) for row in batch for field in fields]
        db.execute_sql(statements[len(batch)], params)


def add_patients(start: int, count: int, created_by=None, today: date | None = None,
                 seed: int = SEED) -> int:
    """Insert patients number start … start+count-1 with families and tags; returns count."""
    if count <= 0:
        return 0
    today = today or clinic_today()
    with db.atomic():
        tag_ids = ensure_tags()
        # Households of five numbers: two people alone, three in family "B<first number>".
        fam_codes = [f"B{n:011d}" for n in range(start, start + count, 5)]
        _insert(Family, [{"code": c, "name": f"第{n}户", "note": "", "created_at": datetime(2015, 1, 1)}
                         for c, n in zip(fam_codes, range(start, start + count, 5))])
        fam_ids = dict(Family.select(Family.code, Family.id).where(Family.code.in_(fam_codes)).tuples())
        rows = []
        for n in range(start, start + count):
            row = person(n, today, seed)
            if n % 5 < 2:  # two in five patients alone, the rest in households of three
                row["family"] = None
            else:
                row["family"] = fam_ids[f"B{(n // 5) * 5:011d}"]
            row["created_by"] = created_by
            rows.append(row)
        _insert(Patient, rows)
        # Tags: about one patient in five.
        charts = [r["chart_no"] for r in rows]
        links = []
        for batch in pw.chunked(charts, 5000):
            for pid, chart in Patient.select(Patient.id, Patient.chart_no).where(Patient.chart_no.in_(batch)).tuples():
                r = random.Random(seed ^ pid)
                if r.random() < 0.2:
                    for tag in r.sample(tag_ids, r.choice((1, 1, 2))):
                        links.append({"patient": pid, "tag": tag, "created_at": datetime(2020, 1, 1)})
        _insert(PatientTag, links)
    if is_postgres():
        db.execute_sql("ANALYZE patient")  # autovacuum would, soon after a real bulk import
        db.execute_sql("ANALYZE family")
        db.execute_sql("ANALYZE patient_tag")
    return count
