#!/usr/bin/env python3
"""Build qloop's default training files for the triage heads (issue 13, item 3).

Writes two JSON-lines files into models/training/:

  nhtsa-complaints.jsonl  owner complaints with NHTSA's component label, for
                          the category head (and the safety head through the
                          crash/fire/injured/deaths flags). One object a line:
                          {"odino", "component" (primary COMPDESC), "crash",
                          "fire", "injured", "deaths", "narrative" (<= 1200
                          chars), "source"}.
  recall-hazards.jsonl    one line per recall campaign: every recall is a
                          safety defect, so "major" is true, and "hazard" is
                          named from the defect/consequence wording with the
                          ordered keyword table HAZARD_TABLE below. "component"
                          is the campaign's NHTSA component when it maps into
                          [labels] of models/taxonomy.toml, else null.

These files are TRAINING data. Never evaluate on them.

Inputs (all read-only):
  * complaints: ../shared/data/nhtsa/complaints-dev.jsonl (the split the
    shared data README allows for training) and complaints-sample.jsonl; plus
    any file given with --flat: an NHTSA ODI flat file (FLAT_CMPL.txt or a
    COMPLAINTS_RECEIVED_*.txt, tab-delimited, field order of CMPL.txt, or a
    .zip holding one) or a CSV whose header names CMPLID/ODINO/COMPDESC/CDESCR.
  * recalls: ../shared/data/nhtsa/recalls-ford-toyota-tesla-2015-2025.jsonl and
    recall-documents-2020-2026.jsonl.
  * the label mapping: models/taxonomy.toml, [categories] and [labels].

Rules every complaint passes, in this order (each failure is counted):
  1. it has a complaint number and a narrative            -> else "invalid"
  2. sha256("odi:<number>") is not in holdout-ids.sha256  -> else "holdout".
     The number is the decimal string without leading zeros. Both the ODI
     number (ODINO) and, where the source has it, the flat file's record id
     (CMPLID) are checked: the published holdout list hashes the numbers that
     the NHTSA flat file calls CMPLID, so checking ODINO alone would let held
     out complaints through a flat-file import. A match on either skips.
  3. its ODINO is not in complaints-test.jsonl            -> else "test"
  4. its ODINO, and its narrative, were not seen before   -> else "duplicate"
     (a flat file repeats a complaint once per component; the first row seen
     gives the primary COMPDESC)
  5. its primary COMPDESC maps to a category, exactly as
     models/src/taxonomy.rs category_of_label does: a category name itself,
     or the text before the first colon, trimmed and upper-cased, as a key
     of [labels]                                          -> else "unmapped"
  6. at most --cap (600) complaints per NHTSA component group; within a
     group, rows with a crash/fire/injury/death flag go first, then the rest
     in the order of sha256(odino) (deterministic)        -> else "over cap"

Deterministic: same inputs, same bytes out. Python 3.11+ standard library only.

Run from the repository root:
    python3 scripts/training/build_training.py
Options: --shared DIR (default $QLOOP_SHARED_DATA or ../shared/data),
         --flat FILE [--flat-source TEXT] (repeatable), --cap N, --out DIR,
         --sample N (print N random recall lines to eyeball the hazard table).
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import io
import json
import os
import random
import re
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NARRATIVE_MAX = 1200
RECALL_TEXT_MAX = 600

# Field order of the NHTSA flat complaint file (CMPL.txt, fields 1-49).
FLAT_FIELDS = [
    "CMPLID", "ODINO", "MFR_NAME", "MAKETXT", "MODELTXT", "YEARTXT", "CRASH",
    "FAILDATE", "FIRE", "INJURED", "DEATHS", "COMPDESC", "CITY", "STATE", "VIN",
    "DATEA", "LDATE", "MILES", "OCCURENCES", "CDESCR", "CMPL_TYPE",
    "POLICE_RPT_YN", "PURCH_DT", "ORIG_OWNER_YN", "ANTI_BRAKES_YN",
    "CRUISE_CONT_YN", "NUM_CYLS", "DRIVE_TRAIN", "FUEL_SYS", "FUEL_TYPE",
    "TRANS_TYPE", "VEH_SPEED", "DOT", "TIRE_SIZE", "LOC_OF_TIRE",
    "TIRE_FAIL_TYPE", "ORIG_EQUIP_YN", "MANUF_DT", "SEAT_TYPE",
    "RESTRAINT_TYPE", "DEALER_NAME", "DEALER_TEL", "DEALER_CITY",
    "DEALER_STATE", "DEALER_ZIP", "PROD_TYPE", "REPAIRED_YN", "MEDICAL_ATTN",
    "VEHICLES_TOWED_YN",
]


# --------------------------------------------------------------------------
# label mapping (mirrors models/src/taxonomy.rs Taxonomy::category_of_label)
# --------------------------------------------------------------------------

class Taxonomy:
    def __init__(self, path: Path):
        with open(path, "rb") as f:
            t = tomllib.load(f)
        self.categories = set(t["categories"])
        self.labels = dict(t["labels"])

    def category_of_label(self, label: str) -> str | None:
        trimmed = label.strip()
        if trimmed in self.categories:
            return trimmed
        group = trimmed.split(":", 1)[0].strip().upper()
        return self.labels.get(group)


def component_group(label: str) -> str:
    return label.strip().split(":", 1)[0].strip().upper()


# --------------------------------------------------------------------------
# holdout and test guards
# --------------------------------------------------------------------------

def load_holdout(path: Path) -> set[str]:
    out = set()
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.add(line.lower())
    return out


def norm_number(x) -> str | None:
    """A complaint number as a decimal string without leading zeros."""
    if x is None:
        return None
    s = str(x).strip()
    if not s:
        return None
    try:
        return str(int(float(s))) if re.fullmatch(r"\d+(\.0+)?", s) else None
    except ValueError:
        return None


def odi_hash(number: str) -> str:
    return hashlib.sha256(f"odi:{number}".encode()).hexdigest()


# --------------------------------------------------------------------------
# complaint readers: each yields dicts with odino, cmplid, component, crash,
# fire, injured, deaths, narrative, source
# --------------------------------------------------------------------------

def yn(v) -> str:
    return "Y" if str(v or "").strip().upper() == "Y" else "N"


def count(v) -> int:
    try:
        return max(0, int(float(str(v).strip() or 0)))
    except ValueError:
        return 0


def read_shared_jsonl(path: Path, shared_root: Path):
    rel = path.relative_to(shared_root).as_posix()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        comps = d.get("components") or []
        component = d.get("component") or (comps[0] if comps else "")
        origin = d.get("source")
        yield {
            "odino": d.get("odino"),
            "cmplid": d.get("cmplid"),
            "component": component,
            "crash": d.get("crash"),
            "fire": d.get("fire"),
            "injured": d.get("injured"),
            "deaths": d.get("deaths"),
            "narrative": d.get("narrative"),
            "source": f"shared-data:{rel}" + (f" (from {origin})" if origin else ""),
        }


def _flat_rows(text: str):
    first = text.split("\n", 1)[0]
    if "ODINO" in first.upper() and ("CDESCR" in first.upper() or "COMPDESC" in first.upper()):
        delim = "\t" if first.count("\t") > first.count(",") else ","
        for r in csv.DictReader(io.StringIO(text), delimiter=delim):
            yield {k.strip().upper(): (v or "") for k, v in r.items() if k}
    else:  # headerless NHTSA flat file, tab-delimited, one record a line
        for line in text.splitlines():
            if not line.strip():
                continue
            parts = line.split("\t")
            yield {k: (parts[i] if i < len(parts) else "") for i, k in enumerate(FLAT_FIELDS)}


def read_flat(path: Path, source: str):
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as z:
            names = sorted(n for n in z.namelist() if n.lower().endswith((".txt", ".csv")))
            texts = [(n, z.read(n).decode("latin-1")) for n in names]
    else:
        raw = path.read_bytes()
        try:
            texts = [(None, raw.decode("utf-8"))]
        except UnicodeDecodeError:
            texts = [(None, raw.decode("latin-1"))]
    for name, text in texts:
        src = source + (f":{name}" if name else "")
        for r in _flat_rows(text):
            yield {
                "odino": r.get("ODINO"),
                "cmplid": r.get("CMPLID"),
                "component": r.get("COMPDESC", ""),
                "crash": r.get("CRASH"),
                "fire": r.get("FIRE"),
                "injured": r.get("INJURED"),
                "deaths": r.get("DEATHS"),
                "narrative": r.get("CDESCR"),
                "source": src,
            }


def clean_narrative(s: str) -> str:
    s = re.sub(r"\s+", " ", s or "").strip()
    s = re.sub(r"^TL\s*\*\s*", "", s)            # NHTSA editor's lead-in marker
    s = re.sub(r"\s*\*[A-Z]{2,3}\s*$", "", s)    # trailing editor initials (*TR, *AK)
    if len(s) > NARRATIVE_MAX:
        cut = s[:NARRATIVE_MAX]
        sp = cut.rfind(" ")
        s = cut[:sp] if sp > NARRATIVE_MAX - 80 else cut
    return s


def build_complaints(readers, tax: Taxonomy, holdout: set[str], test_ids: set[str], cap: int):
    stats = collections.Counter()
    unmapped = collections.Counter()
    seen_odino: set[str] = set()
    seen_text: set[str] = set()
    kept = []
    for row in readers:
        stats["read"] += 1
        odino = norm_number(row["odino"])
        narrative = clean_narrative(row["narrative"] or "")
        if not odino or not narrative:
            stats["skipped_invalid"] += 1
            continue
        cmplid = norm_number(row.get("cmplid"))
        if odi_hash(odino) in holdout:
            stats["skipped_holdout"] += 1
            stats["skipped_holdout_by_odino"] += 1
            continue
        if cmplid and odi_hash(cmplid) in holdout:
            stats["skipped_holdout"] += 1
            stats["skipped_holdout_by_cmplid"] += 1
            continue
        if odino in test_ids:
            stats["skipped_test"] += 1
            continue
        text_key = re.sub(r"[^a-z0-9]+", " ", narrative.lower()).strip()
        if odino in seen_odino or text_key in seen_text:
            stats["skipped_duplicate"] += 1
            continue
        seen_odino.add(odino)
        seen_text.add(text_key)
        component = (row["component"] or "").strip()
        category = tax.category_of_label(component) if component else None
        if category is None:
            stats["skipped_unmapped"] += 1
            unmapped[component or "<empty>"] += 1
            continue
        kept.append({
            "odino": odino,
            "component": component,
            "crash": yn(row["crash"]),
            "fire": yn(row["fire"]),
            "injured": count(row["injured"]),
            "deaths": count(row["deaths"]),
            "narrative": narrative,
            "source": row["source"],
            "_category": category,
        })

    # cap each NHTSA component group; flagged (crash/fire/injury/death) rows first
    groups = collections.defaultdict(list)
    for r in kept:
        groups[component_group(r["component"])].append(r)
    out = []
    for g in sorted(groups):
        rows = groups[g]
        rows.sort(key=lambda r: (
            not (r["crash"] == "Y" or r["fire"] == "Y" or r["injured"] or r["deaths"]),
            hashlib.sha256(r["odino"].encode()).hexdigest(),
        ))
        out.extend(rows[:cap])
        stats["skipped_over_cap"] += max(0, len(rows) - cap)
    out.sort(key=lambda r: int(r["odino"]))
    stats["kept"] = len(out)
    return out, stats, unmapped


# --------------------------------------------------------------------------
# recalls
# --------------------------------------------------------------------------

# Ordered: the first hazard whose pattern matches wins. Specific phrases come
# before the generic words they contain ("brake light" before "brake",
# "steering wheel" before "wheel", "automatic emergency braking" before
# "brak", "air bag"/"seat belt" before "latch"; "loss of power" is motive
# power unless "brake"/"steering"/"assist" follows). Matched first against
# the consequence wording, then against the whole defect text.
HAZARD_TABLE: list[tuple[str, str]] = [
    ("fire_or_smoke", r"hydrogen (gas )?leak|\bfires?\b|\bsmoke\b|\bflames?\b|\bburn(s|ing|ed)?\b|\bmelt|thermal (event|runaway)|ignition source|\bignite"),
    ("high_voltage_or_shock", r"electric(al)? shock|electrocut|shock hazard|risk of (a )?shock|energi[sz]e (the )?(shore power|chassis|frame|body)"),
    ("unintended_braking", r"automatic emergency brak|\baeb\b|unexpected(ly)? brak|unintended brak|inadvertent(ly)? brak|false brak|phantom brak|brakes? (may |to )?(apply|activate|engage) (unexpectedly|without)|sudden(ly)? brak|unexpected (activation|application) of the brakes?|unexpected(ly)? (slow|stop|decelerat)|unintended decelerat|stop suddenly"),
    ("occupant_protection", r"air ?bags?|seat ?belts?|child (safety )?(seat|restraint)|restraint|inflator|pretensioner|seat ?backs?|head ?rests?|head restraint|occupant classification|belt buckle|ejection|side[- ]impact|impact beam|crash protection|crashworthiness|seat (may|could|can) (move|recline|detach|shift|fold|not (lock|latch))|seat (frame|track|recliner|anchor)|\bseats? (not )?(properly )?(secured|latched|locked)|rollover protection|(fmvss\)?|standard) (no\.? |number |#)?(20[0-578-9]|21\d|22\d)\b"),
    ("loss_of_visibility_or_lighting", r"head ?lights?|head ?lamps?|tail ?lights?|tail ?lamps?|brake (lights?|lamps?)|stop ?lamps?|turn signals?|(?<!warning )(?<!indicator )\blamps?\b|\blighting\b|exterior lights?|parking lights?|wipers?|windshield|defrost|demist|visibility|rear ?view|rear(ward)? camera|back ?up camera|reversing camera|camera image|mirrors?|\bglare\b|(fmvss\)?|standard) (no\.? |number |#)?(10[1-4]|108|111)\b"),
    ("loss_of_steering", r"\bsteer"),
    ("unintended_acceleration", r"unintended (acceleration|movement|motion|vehicle movement)|roll ?aways?|roll away|unexpected(ly)? (vehicle )?(move|movement|motion|accelerat)|accelerat\w* unexpectedly|(throttle|accelerator pedal) (may )?(stick|remain|not return|entrap)|sudden(ly)? accelerat|\bsurg(e|es|ing)\b|vehicle (may|could|can) (move|roll)|move (unexpectedly|while in park)"),
    ("loss_of_motive_power", r"loss of (drive |motive |propulsion |engine )?power(?! (brake|steering|assist))|los(e|es|ing) (drive |motive |propulsion |engine )?power(?! (brake|steering|assist))|loss of (drive|propulsion|motive)|\bstall|shut(s|ting)? (off|down)|shutdown|power loss|loss of propulsion|reduced (engine |drive |motive )?power|\blimp|loss of acceleration|engine (may )?(fail|seize|die)|engine failure|not (be able to )?(move|drive|start)|(drive|propeller) ?shafts? (may |could |can )?(separate|fracture|break|detach|fail)|disabl(e|ed|es) the vehicle|power interruption"),
    ("loss_of_braking", r"\bbrak(e|es|ing)\b|\bbrake"),
    ("door_hood_latch_opening", r"\bdoors?\b|\bhood\b|\blatch|liftgate|tailgate|\btrunk\b|\bhatch|sliding door"),
    ("wheel_or_tire_failure", r"\bwheels?\b|\btires?\b|\btyres?\b|lug nuts?|wheel hub|\bhubs?\b|\brims?\b"),
    ("loss_of_steering", r"loss of (vehicle |directional )?control|tie ?rods?|toe links?|drag links?|pitman arm"),
    ("unintended_acceleration", r"accelerat"),
    ("high_voltage_or_shock", r"high[- ]voltage"),
    ("occupant_protection", r"occupant|\bseats?\b"),
]
HAZARD_RE = [(h, re.compile(p, re.I)) for h, p in HAZARD_TABLE]
HAZARDS = ["loss_of_braking", "loss_of_steering", "loss_of_motive_power",
           "unintended_acceleration", "unintended_braking", "fire_or_smoke",
           "loss_of_visibility_or_lighting", "occupant_protection",
           "door_hood_latch_opening", "wheel_or_tire_failure",
           "high_voltage_or_shock", "other"]


# Wording that names a part without being the hazard: a rollaway "without the
# parking brake applied" is not a braking failure.
NOT_THE_HAZARD = re.compile(
    r"(without|unless|if) (the )?(use of )?(the )?parking brake( is| being)?( not)?( set| applied| engaged| used)?|"
    r"parking brake (is )?not (set|applied|engaged|used)",
    re.I,
)


def hazard_of(consequence: str, text: str) -> str:
    for part in (consequence, text):
        part = NOT_THE_HAZARD.sub(" ", part or "")
        for h, rx in HAZARD_RE:
            if part and rx.search(part):
                return h
    return "other"


BOILERPLATE = re.compile(
    r"owner notification|notification letter|owner letter|notice to (the )?owners?|mailing|mail drops?|"
    r"\bmailed\b|dealers?\b|free of charge|no charge|at no cost|reimburs|customer (service|care|assistance|relations)|"
    r"\bcall (us|your|the|toll|customer|\d)|\bcontact (us|your|their|the (dealer|manufacturer|customer|nearest|service))\b|please contact|telephone|phone number|website|web site|www\.|https?:|\[email\]|\bremedy\b|\bremedies\b|interim|"
    r"parts (are|will be|become|becoming) available|schedule|appointment|identification number|"
    r"recall (number|code|id)\b|campaign (number|code|id)\b|this (notice|letter|communication|document|bulletin|campaign|recall)|"
    r"\bis (being )?sent\b|sending this|will (notify|be notified|replace|repair|inspect|update|reprogram|install|remove|adjust|perform)|"
    r"owners? (will|should|are advised|are asked|are requested|must)|stop[- ]sale|inventory|\bplease\b|instructions|"
    r"procedure|labor|warranty|\bclaim|re-?notification|follow[- ]up notice|advisory \d|informing|"
    r"is (conducting|issuing|recalling)|are recalling|notified the agency|"
    r"\brecall began\b|enclosed|postage|envelope|\bfcc\b|service (comm|bulletin)|bulletin \d|retailers?\b|"
    r"civil penalt|federal law|required by law|national highway traffic safety administration|"
    r"\brepair (consists|procedure|involves|will)|the repair\b|will be repaired|to be repaired|\*{3,}|"
    r"what (dealers|retailers|owners|you) should do|thank you|we (apologize|regret|are sorry)|dealerships?|showrooms?|"
    r"we have provided|recall letter|voluntary safety recall|evaluation of the risk|the replacement\b",
    re.I,
)
DEFECT_CUE = re.compile(
    r"\bmay\b|\bcould\b|\bcan\b|\bmight\b|risk|result|lead(s|ing)? to|caus|fail|defect|crack|fractur|break|broke|"
    r"detach|separat|leak|short|overheat|\bloss\b|\blose\b|inoperative|not (properly|function|work|deploy|illuminate|latch|meet|comply)|"
    r"improper|incorrect|insufficient|excessive|noncomplian|does not comply|fail to comply|unexpected|inadvertent",
    re.I,
)
CONSEQ_CUE = re.compile(
    r"risk|result(s|ing)? in|lead(s|ing)? to|increas|crash|injur|(could|may|can|might) cause|hazard", re.I)
SECTION_MARK = re.compile(
    r"description of (the )?(safety )?(defect|risk|noncompliance|problem|issue|hazard)s?( and (the )?(safety )?(risk|hazard|defect))?|"
    r"defect description|safety risk|reason for (this |the )?recall|what is the (issue|problem)\??|campaign summary\s*:|"
    r"(the )?(safety )?defect\s*:|condition\s*:",
    re.I,
)
SCRUB = [
    (re.compile(r"^\s*\d{3,6};[^;]*;[^;]*;[^;]*;[^;]*;\s*"), ""),  # "21501; 06/11/2021; Make; Models; Years;" prefix
    (re.compile(r"NHTSA (ID|campaign|recall)( number| no\.?)?[:#]?\s*\d{2}[A-Z]-?\d{3}(\d{3})?", re.I), " "),
    (re.compile(r"\b\d{2}[VEITC]-?\d{3}(\d{3})?\b"), " "),                          # campaign numbers
    (re.compile(r"\((\w[\w&.\- ]{0,30} )?(recall|campaign|bulletin|program)( no\.?| number)?\s*[#:]?\s*[\w\-]{2,12}\)", re.I), " "),
    (re.compile(r"\b(recall|campaign|bulletin|advisory)( no\.?| number| code)?\s*[#:]?\s*[A-Z0-9]*\d[A-Z0-9\-]*\b", re.I), " "),
    (re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"), " "),                               # 1/7/2020
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), " "),                                     # 2020-01-07
    (re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(st|nd|rd|th)?,? \d{4}\b", re.I), " "),
    (re.compile(r"\b1?[-. (]*\d{3}[-. )]*\d{3}[-. ]\d{4}\b"), " "),                  # phone numbers
    (re.compile(r"https?://\S+|www\.\S+|\[email\]", re.I), " "),
]


def scrub(s: str) -> str:
    s = s or ""
    for rx, rep in SCRUB:
        s = rx.sub(rep, s)
    s = re.sub(r"\(\s*\)", " ", s)
    s = re.sub(r"\s+([,.;:])", r"\1", s)
    return re.sub(r"\s+", " ", s).strip(" ;,")


def sentences(s: str) -> list[str]:
    s = re.sub(r"\s+", " ", s or "").strip()
    parts = re.split(r"(?<=[.!?])(?<!\bNo\.)(?<!\bno\.)(?<!\bNO\.)(?<!\bInc\.)(?<!\bCo\.)(?<!\bLtd\.)(?<!\bCorp\.)(?<!\bU\.S\.)\s+(?=[\"'(A-Z0-9])", s)
    return [p.strip() for p in parts if p.strip()]


def clip(s: str, n: int) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    if len(s) <= n:
        return s
    cut = s[:n]
    stop = cut.rfind(". ")
    if stop > n // 2:
        return cut[: stop + 1]
    sp = cut.rfind(" ")
    return cut[:sp] if sp > n - 60 else cut


def doc_sentences(body: str) -> list[str]:
    """Sentences, and the clauses of GM's "<id> recall; <defect>; <what the
    document is>" summaries."""
    out = []
    for sent in sentences(body):
        out.extend(c for c in re.split(r"\s*;\s*", sent) if c)
    return out


def defect_sentences(summary: str) -> list[str]:
    """The defect/consequence sentences of one recall document summary."""
    summary = summary or ""
    # a leading "Owner Notification Letter - " / "Dealer letter for Safety Bulletin 2025-3: " label
    lead = re.match(r"[^.:]{0,80}?(letter|notice|notification|bulletin|announcement)[^.:]{0,40}?(:|\s[-\u2013]\s)\s*",
                    summary, re.I)
    if lead and len(summary) - lead.end() >= 40:
        summary = summary[lead.end():]
    m = SECTION_MARK.search(summary)
    body = summary[m.end():] if m and len(summary) - m.end() > 60 else summary
    stop = re.search(r"\*{3,}|what (dealers|retailers|owners|you) should do|dealer responsibility|"
                     r"remedy (information|instructions)|parts information", body, re.I)
    if stop and stop.start() > 60:
        body = body[: stop.start()]
    out = []
    for sent in doc_sentences(body):
        sent = scrub(sent)
        sent = re.sub(r"^(\w+ )?recall\b\s*", "", sent, flags=re.I)
        if len(sent) < 15 or BOILERPLATE.search(sent):
            continue
        out.append(sent)
    return [x for x in out if DEFECT_CUE.search(x)]


def recall_from_campaign(d: dict) -> tuple[str, str]:
    """(text, consequence) of a Nidhi397 campaign: summary without the
    'X is recalling certain ...' opening when the rest still says something,
    then the consequence."""
    sents = [scrub(x) for x in sentences(d.get("summary", ""))]
    if sents and re.search(r"\b(is|are) recalling\b|notified the agency", sents[0], re.I):
        rest = " ".join(sents[1:])
        if len(rest) >= 40:
            sents = sents[1:]
    sents = [x for x in sents if x and not BOILERPLATE.search(x)]
    conseq = scrub(d.get("consequence", ""))
    text = " ".join(sents + ([conseq] if conseq else []))
    return clip(text, RECALL_TEXT_MAX), conseq


def recall_from_documents(d: dict) -> tuple[str, str]:
    seen, keep = set(), []
    for summary in d.get("summaries") or []:
        for sent in defect_sentences(summary):
            k = re.sub(r"[^a-z0-9]+", " ", sent.lower()).strip()
            if k and k not in seen:
                seen.add(k)
                keep.append(sent)
    text = clip(" ".join(keep), RECALL_TEXT_MAX)
    conseq = " ".join(x for x in sentences(text) if CONSEQ_CUE.search(x))
    return text, conseq


def campaign_key(campno: str) -> str:
    m = re.match(r"\s*(\d{2}[A-Z][0-9A-Z]{3})", campno or "")
    return m.group(1) if m else (campno or "").strip()


def build_recalls(shared: Path, tax: Taxonomy):
    stats = collections.Counter()
    by_key: dict[str, dict] = {}
    ftt = shared / "nhtsa/recalls-ford-toyota-tesla-2015-2025.jsonl"
    docs = shared / "nhtsa/recall-documents-2020-2026.jsonl"
    for path, kind in ((ftt, "campaign"), (docs, "documents")):
        rel = path.relative_to(shared).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            d = json.loads(line)
            stats[f"read_{kind}"] += 1
            key = campaign_key(d.get("campno", ""))
            if key in by_key:  # the campaign file (with component and consequence) wins
                stats["skipped_duplicate_campaign"] += 1
                continue
            if kind == "campaign":
                text, conseq = recall_from_campaign(d)
                comp = (d.get("component") or "").strip()
                component = comp if comp and tax.category_of_label(comp) else None
                if comp and component is None:
                    stats["component_unmapped"] += 1
                source = f"shared-data:{rel} (from Nidhi397/Car-Complaints-and-Recalls-Analysis, NHTSA recalls API)"
            else:
                text, conseq = recall_from_documents(d)
                component = None
                source = (f"shared-data:{rel} (from DavisM1212/NHTSA-ODI-Complaint-Analytics@"
                          "8b0d8371067239136c233d3c7d3221ce49d41121:data/raw/RCL_FROM_*.zip)")
            if len(text) < 30:
                stats["skipped_no_text"] += 1
                continue
            by_key[key] = {
                "campno": key,
                "text": text,
                "component": component,
                "major": True,
                "hazard": hazard_of(conseq, text),
                "source": source,
            }
    out = [by_key[k] for k in sorted(by_key)]
    stats["kept"] = len(out)
    stats["with_component"] = sum(1 for r in out if r["component"])
    return out, stats


# --------------------------------------------------------------------------

def write_jsonl(path: Path, rows: list[dict]):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_")},
                               ensure_ascii=False) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path,
                    default=Path(os.environ.get("QLOOP_SHARED_DATA", ROOT.parent / "shared/data")))
    ap.add_argument("--flat", type=Path, action="append", default=[],
                    help="an NHTSA flat complaint file (.txt/.csv/.zip) to add")
    ap.add_argument("--flat-source", action="append", default=[],
                    help="provenance text for the matching --flat (repo@commit:path)")
    ap.add_argument("--cap", type=int, default=600, help="complaints kept per NHTSA component group")
    ap.add_argument("--out", type=Path, default=ROOT / "models/training")
    ap.add_argument("--sample", type=int, default=0, help="print N random recall lines")
    args = ap.parse_args(argv)

    shared = args.shared.resolve()
    tax = Taxonomy(ROOT / "models/taxonomy.toml")
    holdout = load_holdout(shared / "nhtsa/holdout-ids.sha256")
    test_ids = set()
    for line in (shared / "nhtsa/complaints-test.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            n = norm_number(json.loads(line).get("odino"))
            if n:
                test_ids.add(n)

    def readers():
        for name in ("complaints-dev.jsonl", "complaints-sample.jsonl"):
            yield from read_shared_jsonl(shared / "nhtsa" / name, shared)
        for i, p in enumerate(args.flat):
            src = args.flat_source[i] if i < len(args.flat_source) else str(p)
            yield from read_flat(p, src)

    complaints, cst, unmapped = build_complaints(readers(), tax, holdout, test_ids, args.cap)
    write_jsonl(args.out / "nhtsa-complaints.jsonl", complaints)
    print(f"holdout list: {len(holdout)} hashes; complaints-test: {len(test_ids)} ODI numbers")
    print("nhtsa-complaints.jsonl")
    for k in ("read", "kept", "skipped_holdout", "skipped_holdout_by_odino", "skipped_holdout_by_cmplid",
              "skipped_test", "skipped_duplicate", "skipped_unmapped", "skipped_over_cap", "skipped_invalid"):
        print(f"  {k:28} {cst[k]}")
    for label, n in sorted(unmapped.items()):
        print(f"    unmapped label {label!r}: {n}")
    cats = collections.Counter(r["_category"] for r in complaints)
    print("  per category:")
    for c, n in sorted(cats.items(), key=lambda x: (-x[1], x[0])):
        print(f"    {c:28} {n}")
    flagged = sum(1 for r in complaints if r["crash"] == "Y" or r["fire"] == "Y" or r["injured"] or r["deaths"])
    print(f"  with a crash/fire/injury/death flag: {flagged}")

    recalls, rst = build_recalls(shared, tax)
    write_jsonl(args.out / "recall-hazards.jsonl", recalls)
    print("recall-hazards.jsonl")
    for k in ("read_campaign", "read_documents", "kept", "with_component", "component_unmapped",
              "skipped_duplicate_campaign", "skipped_no_text"):
        print(f"  {k:28} {rst[k]}")
    hz = collections.Counter(r["hazard"] for r in recalls)
    print("  per hazard:")
    for h in HAZARDS:
        print(f"    {h:32} {hz[h]}")
    rc = collections.Counter(tax.category_of_label(r["component"]) for r in recalls if r["component"])
    print("  per category (campaigns with a mapped component):")
    for c, n in sorted(rc.items(), key=lambda x: (-x[1], x[0])):
        print(f"    {c:28} {n}")

    if args.sample:
        rnd = random.Random(13)
        for r in rnd.sample(recalls, min(args.sample, len(recalls))):
            print(f"\n[{r['hazard']}] {r['campno']} {r['component']}\n  {r['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
