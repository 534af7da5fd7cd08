#!/usr/bin/env python3
"""Writes the hand-made seed corpora of fuzz/corpus/{resident_id,policy,csv_import}.

The router and transfer seeds come from the harnesses themselves (BIHUAN_FUZZ_WRITE_SEEDS=DIR,
see fuzz/README.md) because they depend on the route table and on real signed documents.
Run from anywhere: python3 fuzz/make-seeds.py
"""
import datetime
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check_char(first17: str) -> str:
    s = sum(int(c) * w for c, w in zip(first17, WEIGHTS))
    return "10X98765432"[s % 11]


def rid(region: str, birth: str, seq: int) -> str:
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_char(first17)


def days_since(base: datetime.date, day: datetime.date) -> bytes:
    n = (day - base).days
    return bytes([n & 0xFF, (n >> 8) & 0xFF])


def write(kind: str, name: str, data: bytes) -> None:
    d = CORPUS / kind
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def resident_ids() -> None:
    today = days_since(datetime.date(1990, 1, 1), datetime.date(2026, 11, 29))
    ids = {
        "valid": rid("110105", "19900101", 11),
        "valid-x": "44011320141005001x",
        "valid-female": rid("310115", "19880512", 4),
        "fifteen": "110105900101011",
        "permit-81": rid("810000", "19950615", 21),
        "wrong-check": rid("110105", "19900101", 11)[:17] + "0",
        "future": rid("110105", "20300101", 11),
        "feb30": "440308199902301512",
        "unknown-region": "990426199112010074",
        "retired-region": "120110198012010073",
        "short": "44030819990110",
        "letters": "T60426199101010078",
        "fullwidth": "１１０１０５１９９００１０１００１Ｘ",
        "spaces": " 110105199001010011 ",
        "empty": "",
    }
    for name, text in ids.items():
        write("resident_id", name, today + text.encode("utf-8"))
    write("resident_id", "early-today", days_since(datetime.date(1990, 1, 1), datetime.date(1990, 1, 2)) + ids["valid"].encode())


def policies() -> None:
    start = b"\x00\x00"
    for f in sorted((ROOT / "policies").glob("*.yaml")):
        write("policy", f.stem, start + f.read_bytes())
    write("policy", "child", start + b"""name: child
title: test child
issued: 2026-11-01
inherits: ninth-edition
groups:
  inbound:
    name_zh: \xe5\x85\xa5\xe5\xa2\x83\xe4\xba\xba\xe5\x91\x98
    phases:
      - {measure: central_quarantine, days: 7, test_days: [1, 4, 7], colour: red}
      - {measure: home_health_monitoring, days: 3, test_days: [3], colour: yellow}
    release: all_tests_negative
    source: s9
""")
    write("policy", "self-inherit", start + b"name: fuzz\ninherits: fuzz\ngroups: {}\n")
    write("policy", "bad-days", start + b"groups:\n  inbound:\n    phases:\n      - {measure: central_quarantine, days: 99999, colour: red}\n")
    write("policy", "not-yaml", start + b"groups: [\n  - {a: b\n")
    write("policy", "anchors", start + b"a: &x {measure: home_isolation, days: 2, colour: yellow}\ngroups:\n  g:\n    phases: [*x, *x]\n")


def csvs() -> None:
    a = rid("110105", "19900101", 11)
    b = rid("110105", "19920202", 33)
    persons = (
        "证件号码,姓名,性别,出生日期,手机号,户号,网格编码,住址,工作单位编码\n"
        f"{a},张三,男,1990-01-01,13812345678,H-A-1,110105001001001,光华里3号楼,91110105MA00000001\n"
        f"{b},张四,女,1992/2/2,139 0000 1111,H-A-1,110105001001001,\"光华里3号楼,2单元\",\n"
    )
    households = "户号,网格编码,住址,楼栋\nH-A-1,110105001001001,光华里3号楼2单元501,光华里3号楼\n"
    venues = "场所码,场所名称,场所类型,所在网格,地址,容量,是否密闭\nV-1,好邻居超市,超市,110105001001001,光华路2号,120,否\n"
    orgs = "机构代码,机构名称,机构类型,区划代码,地址,联系电话\n12110105MB0000001X,朝阳区疾控中心,疾控中心,110105,朝阳路1号,010-12345678\n"
    english = f"id_number,name,sex,birth_date,area_code\n{a},Zhang San,m,19900101,110105001001001\n"
    broken = f"证件号码,姓名\n\"{a}\"x,张三\n{b},\"未闭合\n"
    bad_rows = f"证件号码,姓名,出生日期,网格编码\n{a[:-1]}0,张三,1990-01-01,110105001001001\n{b},,2099-01-01,999999\n"
    # sel: 0-1 reader, 2-9 = 2 + kind*2 + (valid_rows), 10-15 manifest
    write("csv_import", "reader-quoted", b"\x00" + persons.encode())
    write("csv_import", "reader-broken", b"\x01" + broken.encode())
    write("csv_import", "reader-crlf-bom", b"\x00\xef\xbb\xbf" + persons.replace("\n", "\r\n").encode())
    for kind, (i, text) in {"persons": (0, persons), "households": (1, households), "venues": (2, venues),
                            "orgs": (3, orgs)}.items():
        write("csv_import", f"{kind}-all", bytes([2 + i * 2]) + text.encode())
        write("csv_import", f"{kind}-valid-rows", bytes([3 + i * 2]) + text.encode())
    write("csv_import", "persons-english", b"\x03" + english.encode())
    write("csv_import", "persons-gb18030", b"\x03" + persons.encode("gb18030"))
    write("csv_import", "persons-bad-rows", b"\x03" + bad_rows.encode())
    write("csv_import", "persons-broken-quotes", b"\x02" + broken.encode())
    write("csv_import", "manifest-demo", b"\x0a" + (ROOT / "data/demo/manifest-CA981.csv").read_bytes())
    manifest = ("证件类型,证件号码,国籍,姓名,性别,出生日期,手机号,座位号,目的地网格\n"
                "passport,E12345678,USA,John Smith,male,1980-02-03,,1A,110105001001001\n"
                f"resident_id,{a},CHN,张三,男,1990-01-01,13812345678,1B,110105001001002\n"
                "resident_id,110105199001010012,CHN,错号,男,1990-01-01,,1C,110105001001001\n")
    write("csv_import", "manifest-mixed", b"\x0b" + manifest.encode())


if __name__ == "__main__":
    resident_ids()
    policies()
    csvs()
