"""The peer of `accesslake ingest` in the benchmark: the same job written the
way a team would write it as Python Lambdas: `json.loads` per record, state in
dicts, rows collected as Python dicts and written with pyarrow's default
Parquet writer, one file per table and day per chunk.

It implements the decision rules of SPEC 3 and the admin semantics of SPEC 2.2
so that it does the same work; the benchmark compares its decision counts by
reason with accesslake's before it compares the times.

usage: reference_pipeline.py LAKE_DIR ADMIN.jsonl ENTRIES.jsonl
prints one JSON object: counts by reason, rows, seconds
"""

import datetime
import heapq
import json
import os
import re
import sys
import time
import uuid
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

CHUNK_EVENTS = 250_000
MAX_LINE = 65_536
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
UTC = datetime.timezone.utc
TS = pa.timestamp("us", tz="UTC")

DECISIONS = pa.schema([
    ("event_id", pa.string()), ("occurred_at", TS), ("processed_at", TS),
    ("site_id", pa.string()), ("zone_id", pa.string()), ("door_id", pa.string()),
    ("card_id", pa.string()), ("employee_id", pa.string()), ("direction", pa.string()),
    ("outcome", pa.string()), ("reason", pa.string()), ("presence_change", pa.int8()),
    ("local_date", pa.string()), ("local_hour", pa.int8()), ("local_weekday", pa.int8()),
])
ADMIN_EVENTS = pa.schema([
    ("event_id", pa.string()), ("occurred_at", TS), ("received_at", TS),
    ("actor", pa.string()), ("type", pa.string()), ("entity_id", pa.string()),
    ("payload", pa.string()), ("applied", pa.bool_()), ("error", pa.string()),
])
REJECTED = pa.schema([
    ("received_at", TS), ("source", pa.string()), ("source_ref", pa.string()),
    ("error", pa.string()), ("raw", pa.string()),
])
STATUS_REASON = {"lost": "card_lost", "stolen": "card_stolen", "revoked": "card_revoked",
                 "destroyed": "card_revoked", "expired": "card_expired"}
ENTITY_KEY = {"zone_upserted": ("zone", "zone_id"), "door_upserted": ("door", "door_id"),
              "employee_upserted": ("employee", "employee_id"),
              "card_issued": ("card", "card_id"), "card_status_changed": ("card", "card_id")}


class Bad(Exception):
    pass


def ts(value):
    if not isinstance(value, str) or not RFC3339.match(value):
        raise Bad("bad timestamp")
    try:
        return datetime.datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise Bad("bad timestamp")


def text(obj, key):
    v = obj.get(key)
    if not isinstance(v, str):
        raise Bad(f"`{key}` missing or not a string")
    return v


def minutes(hhmm, end=False):
    if not isinstance(hhmm, str) or not re.fullmatch(r"\d\d:\d\d", hhmm):
        raise Bad("bad time of day")
    h, m = int(hhmm[:2]), int(hhmm[3:])
    if (h, m) == (24, 0) and end:
        return 1440
    if h > 23 or m > 59:
        raise Bad("bad time of day")
    return h * 60 + m


def parse(line):
    """One line → ("entry"|"admin", dict); raises Bad."""
    if len(line) > MAX_LINE:
        raise Bad("line over the limit")
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise Bad("not JSON")
    if not isinstance(obj, dict):
        raise Bad("not an object")
    if "type" not in obj:
        ev = {"event_id": text(obj, "event_id"), "occurred_at": ts(obj.get("occurred_at")),
              "door_id": text(obj, "door_id"), "card_id": text(obj, "card_id"),
              "direction": text(obj, "direction")}
        if ev["direction"] not in ("in", "out"):
            raise Bad("bad direction")
        return "entry", ev
    kind = text(obj, "type")
    data = obj.get("data")
    if not isinstance(data, dict):
        raise Bad("`data` is not an object")
    ev = {"event_id": text(obj, "event_id"), "occurred_at": ts(obj.get("occurred_at")),
          "actor": text(obj, "actor"), "type": kind, "data": data,
          "payload": json.dumps(data, separators=(",", ":"))}
    if kind == "zone_upserted":
        for k in ("zone_id", "name", "site_id", "timezone"):
            text(data, k)
        if not isinstance(data.get("capacity"), int):
            raise Bad("bad capacity")
        try:
            data["tz"] = ZoneInfo(data["timezone"])
        except Exception:
            raise Bad("bad timezone")
    elif kind == "door_upserted":
        for k in ("door_id", "zone_id", "name"):
            text(data, k)
    elif kind == "employee_upserted":
        for k in ("employee_id", "name", "department"):
            text(data, k)
        if data.get("status") not in ("active", "inactive"):
            raise Bad("bad status")
    elif kind == "card_issued":
        text(data, "card_id"), text(data, "employee_id")
        for k in ("valid_from", "valid_until"):
            data[k] = None if data.get(k) is None else ts(data[k])
    elif kind == "card_status_changed":
        text(data, "card_id")
        if data.get("status") not in ("active", "lost", "stolen", "revoked", "destroyed", "expired"):
            raise Bad("bad status")
    elif kind in ("access_granted", "access_revoked"):
        text(data, "employee_id"), text(data, "zone_id")
        if kind == "access_granted":
            s = data.get("schedule")
            if s == "always":
                data["window"] = None
            elif isinstance(s, dict) and isinstance(s.get("weekdays"), list):
                days = s["weekdays"]
                if not all(isinstance(d, int) and 1 <= d <= 7 for d in days):
                    raise Bad("bad weekdays")
                data["window"] = (set(days), minutes(s.get("start")), minutes(s.get("end"), True))
            else:
                raise Bad("bad schedule")
    else:
        raise Bad("unknown type")
    return "admin", ev


class State:
    def __init__(self):
        self.zones, self.doors, self.employees, self.cards = {}, {}, {}, {}
        self.grants, self.inside, self.versions = {}, set(), {}
        self.entry_ids, self.admin_ids = set(), set()


def allowed(window, weekday, minute):
    if window is None:
        return True
    days, start, end = window
    if start < end:
        return weekday in days and start <= minute < end
    previous = 7 if weekday == 1 else weekday - 1
    return (weekday in days and minute >= start) or (previous in days and minute < end)


def decide(st, ev, now):
    door = st.doors.get(ev["door_id"])
    zone = st.zones.get(door["zone_id"]) if door else None
    card = st.cards.get(ev["card_id"])
    holder = card["employee_id"] if card else None
    row = {"event_id": ev["event_id"], "occurred_at": ev["occurred_at"], "processed_at": now,
           "site_id": None, "zone_id": None, "door_id": ev["door_id"], "card_id": ev["card_id"],
           "employee_id": holder, "direction": ev["direction"], "presence_change": 0,
           "local_date": None, "local_hour": None, "local_weekday": None}
    if zone is None:
        reason = "unknown_door"
    else:
        local = ev["occurred_at"].astimezone(zone["tz"])
        row.update(site_id=zone["site_id"], zone_id=zone["zone_id"],
                   local_date=local.date().isoformat(), local_hour=local.hour,
                   local_weekday=local.isoweekday())
        key = (holder, zone["zone_id"])
        if ev["direction"] == "out":
            reason = "egress"
            if card and key in st.inside:
                st.inside.discard(key)
                row["presence_change"] = -1
        elif card is None:
            reason = "unknown_card"
        elif card["status"] != "active":
            reason = STATUS_REASON[card["status"]]
        elif card["valid_from"] and ev["occurred_at"] < card["valid_from"]:
            reason = "card_not_yet_valid"
        elif card["valid_until"] and ev["occurred_at"] >= card["valid_until"]:
            reason = "card_expired"
        elif st.employees.get(holder, {}).get("status") != "active":
            reason = "employee_inactive"
        elif key not in st.grants:
            reason = "no_access"
        elif not allowed(st.grants[key], local.isoweekday(), local.hour * 60 + local.minute):
            reason = "outside_schedule"
        elif key in st.inside:
            reason = "anti_passback"
        else:
            reason = "ok"
            st.inside.add(key)
            row["presence_change"] = 1
    row["reason"] = reason
    row["outcome"] = "granted" if reason in ("ok", "egress") else "denied"
    return row


def apply_admin(st, ev, now):
    kind, data = ev["type"], ev["data"]
    if kind in ENTITY_KEY:
        entity = (ENTITY_KEY[kind][0], data[ENTITY_KEY[kind][1]])
        entity_id = entity[1]
    else:
        entity = ("grant", data["employee_id"], data["zone_id"])
        entity_id = f"{data['employee_id']}/{data['zone_id']}"
    error = None
    last = st.versions.get(entity)
    if last is not None and ev["occurred_at"] < last:
        error = "stale"
    elif kind == "door_upserted" and data["zone_id"] not in st.zones:
        error = "unknown_zone"
    elif kind == "card_issued" and data["employee_id"] not in st.employees:
        error = "unknown_employee"
    elif kind == "card_status_changed" and data["card_id"] not in st.cards:
        error = "unknown_card"
    elif kind in ("access_granted", "access_revoked"):
        if data["employee_id"] not in st.employees:
            error = "unknown_employee"
        elif data["zone_id"] not in st.zones:
            error = "unknown_zone"
    if error is None:
        if kind == "zone_upserted":
            st.zones[data["zone_id"]] = data
        elif kind == "door_upserted":
            st.doors[data["door_id"]] = data
        elif kind == "employee_upserted":
            st.employees[data["employee_id"]] = data
        elif kind == "card_issued":
            st.cards[data["card_id"]] = dict(data, status="active")
        elif kind == "card_status_changed":
            st.cards[data["card_id"]]["status"] = data["status"]
        elif kind == "access_granted":
            st.grants[(data["employee_id"], data["zone_id"])] = data["window"]
        else:
            st.grants.pop((data["employee_id"], data["zone_id"]), None)
        st.versions[entity] = ev["occurred_at"]
    return {"event_id": ev["event_id"], "occurred_at": ev["occurred_at"], "received_at": now,
            "actor": ev["actor"], "type": kind, "entity_id": entity_id,
            "payload": ev["payload"], "applied": error is None, "error": error}


def stream(path, index, rejected):
    """(occurred_at, 0 admin / 1 entry, file index, line no, kind, event) per good line."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        for no, raw in enumerate(f, 1):
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                kind, ev = parse(raw)
            except Bad as e:
                rejected.append({"received_at": datetime.datetime.now(UTC), "source": "file",
                                 "source_ref": f"{name}:{no}", "error": str(e),
                                 "raw": raw[:MAX_LINE].decode("utf-8", "replace")})
                continue
            yield (ev["occurred_at"], 0 if kind == "admin" else 1, index, no, kind, ev)


def flush(lake, rows, schema, table, dt_of):
    by_day = {}
    for r in rows:
        by_day.setdefault(dt_of(r).date().isoformat(), []).append(r)
    for day, part in by_day.items():
        folder = os.path.join(lake, table, f"dt={day}")
        os.makedirs(folder, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(part, schema=schema),
                       os.path.join(folder, f"{uuid.uuid4().hex}.parquet"))
    rows.clear()


def main(lake, *paths):
    started = time.perf_counter()
    st = State()
    decisions, admin, rejected = [], [], []
    counts = {}
    n = 0
    merged = heapq.merge(*(stream(p, i, rejected) for i, p in enumerate(paths)))
    for _, _, _, _, kind, ev in merged:
        now = datetime.datetime.now(UTC)
        if kind == "entry":
            if ev["event_id"] in st.entry_ids:
                continue
            st.entry_ids.add(ev["event_id"])
            row = decide(st, ev, now)
            counts[row["reason"]] = counts.get(row["reason"], 0) + 1
            decisions.append(row)
        else:
            if ev["event_id"] in st.admin_ids:
                continue
            st.admin_ids.add(ev["event_id"])
            admin.append(apply_admin(st, ev, now))
        n += 1
        if n % CHUNK_EVENTS == 0:
            flush(lake, decisions, DECISIONS, "decisions", lambda r: r["occurred_at"])
            flush(lake, admin, ADMIN_EVENTS, "admin_events", lambda r: r["occurred_at"])
            flush(lake, rejected, REJECTED, "rejected", lambda r: r["received_at"])
    flush(lake, decisions, DECISIONS, "decisions", lambda r: r["occurred_at"])
    flush(lake, admin, ADMIN_EVENTS, "admin_events", lambda r: r["occurred_at"])
    flush(lake, rejected, REJECTED, "rejected", lambda r: r["received_at"])
    print(json.dumps({"by_reason": dict(sorted(counts.items())), "decisions": sum(counts.values()),
                      "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main(*sys.argv[1:])
