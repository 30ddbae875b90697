#!/usr/bin/env python3
"""Summary of a bench/run.sh run: one table on stdout, everything in JSON.

Reads the raw records (one JSON object per line, as run.sh writes them), the
`openssl speed -mr` lines of the crypto limit, and the machine description
from BENCH_META_* variables; prints the table with tlsgate's ratio to each
peer and the targets of bench/README.md; writes --out.
"""
import argparse
import json
import os
import statistics
import sys

PEERS = ["haproxy", "nginx", "stunnel"]
SYSTEMS = ["tlsgate"] + PEERS

# column: (title, record mode, metric function, better, format)
# better: "low" or "high" (for the ratio's reading)


def cpu_per_op_us(r):
    res = r["result"]
    if not res.get("ops") or "cpu_s" not in res:
        return None
    return res["cpu_s"] / res["ops"] * 1e6


def cpu_per_gb(r):
    res = r["result"]
    if not res.get("bytes") or "cpu_s" not in res:
        return None
    return res["cpu_s"] / (res["bytes"] / 1e9)


def field(name):
    def get(r):
        v = r["result"].get(name)
        return v if isinstance(v, (int, float)) else None

    return get


def kib_per_conn(r):
    v = r["result"].get("kib_per_1000")
    return None if v is None else v / 1000.0


COLUMNS = [
    ("full_cpu_us", "full hs CPU µs", "full", cpu_per_op_us, "low"),
    ("full_rate", "full hs/s", "full", field("rate"), "high"),
    ("resumed_cpu_us", "resumed CPU µs", "resumed", cpu_per_op_us, "low"),
    ("bulk_cpu_s_per_gb", "bulk CPU s/GB", "bulk", cpu_per_gb, "low"),
    ("bulk_mb_s", "bulk MB/s", "bulk", field("mb_per_s"), "high"),
    ("bulk_up_cpu_s_per_gb", "upload CPU s/GB", "bulk_up", cpu_per_gb, "low"),
    ("bulk_up_mb_s", "upload MB/s", "bulk_up", field("mb_per_s"), "high"),
    ("latency_p50_us", "1KiB p50 µs", "latency", field("p50_us"), "low"),
    ("latency_p99_us", "1KiB p99 µs", "latency", field("p99_us"), "low"),
    ("latency_p999_us", "1KiB p999 µs", "latency", field("p999_us"), "low"),
    ("idle_kib_per_conn", "idle KiB/conn", "idle", kib_per_conn, "low"),
    ("rsa_cpu_us", "RSA hs CPU µs", "full_rsa", cpu_per_op_us, "low"),
]

# target: (column, limit as a multiple of the best peer, comparison)
TARGETS = [
    ("full_cpu_us", 1.0, "le"),
    ("resumed_cpu_us", 1.0, "le"),
    ("bulk_cpu_s_per_gb", 1.0, "lt_all"),
    ("bulk_mb_s", 1.0, "ge"),
    ("latency_p99_us", 1.0, "le"),
    ("idle_kib_per_conn", 1.0, "lt_all"),
]


def problems(r):
    """Why a record is not clean (failures, a timeout, no resumption)."""
    res = r["result"]
    out = []
    if r.get("exit", 0) != 0:
        out.append("exit %s" % r["exit"])
    if res.get("failures"):
        out.append("%s failures (%s)" % (res["failures"], res.get("first_error", "")))
    if res.get("timed_out"):
        out.append("timed out")
    if res.get("pids_ok") is False:
        out.append("the system's /proc entry vanished")
    if r["mode"] == "resumed" and res.get("handshakes"):
        share = res.get("resumed", 0) / res["handshakes"]
        if share < 0.9:
            out.append("only %.0f%% resumed" % (share * 100))
    return out


# The closed-loop 1 KiB ping-pong (mode pingpong), one row per connection
# count and system: (key, title, metric, better).
def cpu_per_request_us(r):
    res = r["result"]
    if not res.get("requests") or "cpu_s" not in res:
        return None
    return res["cpu_s"] / res["requests"] * 1e6


PP_COLUMNS = [
    ("p50_us", "p50 µs", field("p50_us"), "low"),
    ("p99_us", "p99 µs", field("p99_us"), "low"),
    ("rps", "requests/s", field("rps"), "high"),
    ("cpu_us", "CPU µs/req", cpu_per_request_us, "low"),
]
PP_TARGETS = [("p99_us", 1.0, "le"), ("rps", 1.0, "ge")]


def pingpong_summary(records):
    """Per connection count and system: median [min–max] per column, the
    ratio of tlsgate to the best peer, and the targets."""
    rs = [r for r in records if r["mode"] == "pingpong"]
    if not rs:
        return None, []
    out = {}
    verdicts = []
    for conns in sorted({r.get("conns") for r in rs}):
        row = {}
        for system in SYSTEMS:
            mine = [r for r in rs if r["system"] == system and r.get("conns") == conns]
            if not mine:
                continue
            row[system] = {k: stats([m(r) for r in mine]) for k, _t, m, _b in PP_COLUMNS}
        ratios = {}
        if "tlsgate" in row:
            for key, _t, _m, better in PP_COLUMNS:
                peer_vals = {p: row[p][key]["median"] for p in PEERS
                             if p in row and row[p].get(key)}
                mine = row["tlsgate"].get(key)
                if not peer_vals or not mine:
                    continue
                best_peer = (min if better == "low" else max)(peer_vals, key=peer_vals.get)
                best = peer_vals[best_peer]
                if best:
                    ratios[key] = {"ratio": mine["median"] / best, "best": best_peer}
            for key, limit, how in PP_TARGETS:
                if key not in ratios:
                    continue
                r = ratios[key]
                ok = r["ratio"] <= limit if how == "le" else r["ratio"] >= limit
                column = next(c for c in PP_COLUMNS if c[0] == key)
                paired = paired_to_best([x for x in rs if x.get("conns") == conns], column[2],
                                        column[3], PEERS)
                verdicts.append({
                    "target": "pingpong %s %s" % (conns, key.replace("_us", "")),
                    "tlsgate": row["tlsgate"][key]["median"],
                    "want": "%s %.2f× %s (%s); is %.2f×%s" % (
                        "≤" if how == "le" else "≥", limit, r["best"],
                        fmt(row[r["best"]][key]["median"]), r["ratio"], spread_note(paired)),
                    "ratio_to_best": r["ratio"], "paired_to_best": paired, "ok": ok})
        out[str(conns)] = {"systems": row, "ratio_to_best_peer": ratios}
    return out, verdicts


def print_pingpong(pp):
    print("1 KiB ping-pong, closed loop (each connection sends its next request when the echo "
          "is in; latency from the write):")
    titles = ["conns", "system"] + [t for _k, t, _m, _b in PP_COLUMNS]
    rows = [titles]
    for conns, v in pp.items():
        for system, cols in v["systems"].items():
            rows.append([conns, system] + [cell(cols.get(k)) for k, *_ in PP_COLUMNS])
        rat = v["ratio_to_best_peer"]
        if rat:
            rows.append([conns, "tlsgate/best"] + [
                ("%.2f× %s" % (rat[k]["ratio"], rat[k]["best"])) if k in rat else "-"
                for k, *_ in PP_COLUMNS])
    widths = [max(len(r[i]) for r in rows) for i in range(len(titles))]
    for i, r in enumerate(rows):
        print("  " + "  ".join(v.rjust(widths[j]) if j > 1 else v.ljust(widths[j])
                               for j, v in enumerate(r)))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


# redisbench: redis-benchmark --tls through the proxies; rows per test.
REDIS_TARGETS = [("plain", "redis plaintext"), ("redis_tls", "redis own TLS"),
                 ("tlsgate", "tlsgate"), ("nginx", "nginx"), ("haproxy", "haproxy")]
REDIS_PROXIES = ["nginx", "haproxy"]


def redis_server_cpu_us(r):
    res = r["result"]
    if not res.get("requests") or "redis_cpu_s" not in res:
        return None
    return (res["redis_cpu_s"] + res.get("gate_cpu_s", 0)) / res["requests"] * 1e6


def redis_gate_cpu_us(r):
    res = r["result"]
    if not res.get("requests") or "gate_cpu_s" not in res:
        return None
    return res["gate_cpu_s"] / res["requests"] * 1e6


REDIS_COLUMNS = [
    ("rps", "requests/s", field("rps"), "high"),
    ("p50_ms", "p50 ms", field("p50_ms"), "low"),
    ("p99_ms", "p99 ms", field("p99_ms"), "low"),
    ("server_cpu_us", "server CPU µs/req", redis_server_cpu_us, "low"),
    ("gate_cpu_us", "of which proxy", redis_gate_cpu_us, "low"),
]


def redisbench_summary(records):
    rs = [r for r in records if r["mode"] == "redisbench"]
    if not rs:
        return None, []
    out = {}
    verdicts = []
    for test in ["set", "get"]:
        row = {}
        for name, _label in REDIS_TARGETS:
            mine = [r for r in rs if r["system"] == name and r["key"] == test]
            if mine:
                row[name] = {k: stats([m(r) for r in mine]) for k, _t, m, _b in REDIS_COLUMNS}
        ratios = {}
        if "tlsgate" in row:
            for key, _t, _m, better in REDIS_COLUMNS:
                peer_vals = {p: row[p][key]["median"] for p in REDIS_PROXIES
                             if p in row and row[p].get(key)}
                mine = row["tlsgate"].get(key)
                if not peer_vals or not mine:
                    continue
                best_peer = (min if better == "low" else max)(peer_vals, key=peer_vals.get)
                if peer_vals[best_peer]:
                    ratios[key] = {"ratio": mine["median"] / peer_vals[best_peer],
                                   "best": best_peer}
            if "redis_tls" in row and row["redis_tls"].get("rps") and row["tlsgate"].get("rps"):
                ratios["rps_to_redis_tls"] = {
                    "ratio": row["tlsgate"]["rps"]["median"] / row["redis_tls"]["rps"]["median"],
                    "best": "redis_tls"}
            paired = paired_to_best([r for r in rs if r["key"] == test], field("rps"), "high",
                                    REDIS_PROXIES)
            if paired:
                ratios["rps_paired"] = paired
            if "rps" in ratios:
                r = ratios["rps"]
                verdicts.append({
                    "target": "redis %s requests/s" % test.upper(),
                    "tlsgate": row["tlsgate"]["rps"]["median"],
                    "want": "≥ 1.00× %s (%s); is %.2f×%s" % (
                        r["best"], fmt(row[r["best"]]["rps"]["median"]), r["ratio"],
                        spread_note(paired)),
                    "ratio_to_best": r["ratio"], "ok": r["ratio"] >= 1.0})
        out[test] = {"targets": row, "ratio_to_best_proxy": ratios}
    return out, verdicts


def print_redisbench(rb):
    print("redisbench: redis-benchmark --tls, SET and GET, no pipelining, one redis-server "
          "(server CPU = redis-server + the proxy, per request):")
    titles = ["test", "target"] + [t for _k, t, _m, _b in REDIS_COLUMNS]
    rows = [titles]
    labels = dict(REDIS_TARGETS)
    for test, v in rb.items():
        for name, cols in v["targets"].items():
            rows.append([test.upper(), labels.get(name, name)] + [
                cell(cols.get(k)) for k, *_ in REDIS_COLUMNS])
        rat = v["ratio_to_best_proxy"]
        if any(k in rat for k, *_ in REDIS_COLUMNS):
            rows.append([test.upper(), "tlsgate/best proxy"] + [
                ("%.2f× %s" % (rat[k]["ratio"], rat[k]["best"])) if k in rat else "-"
                for k, *_ in REDIS_COLUMNS])
    widths = [max(len(r[i]) for r in rows) for i in range(len(titles))]
    for i, r in enumerate(rows):
        print("  " + "  ".join(v.rjust(widths[j]) if j > 1 else v.ljust(widths[j])
                               for j, v in enumerate(r)))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))
    for test, v in rb.items():
        rat = v["ratio_to_best_proxy"]
        extra = []
        if "rps_paired" in rat:
            extra.append("tlsgate/best proxy within each repetition %s" % cell(rat["rps_paired"]))
        if "rps_to_redis_tls" in rat:
            extra.append("tlsgate/redis own TLS %.2f×" % rat["rps_to_redis_tls"]["ratio"])
        if extra:
            print("  %s: %s" % (test.upper(), "; ".join(extra)))


PG_TARGETS = [("plain", "plaintext"), ("pg_tls", "PG TLS"), ("tlsgate", "tlsgate")]
PG_WORKLOADS = [("select", "select-only (-S)"), ("update", "simple update (-N)"),
                ("connect", "new connection per tx (-S -C)")]
PG_TARGET_RATIO = 0.9  # tlsgate's TPS against PostgreSQL's own TLS


def pg_server_cpu_us(r):
    res = r["result"]
    if not res.get("transactions") or res.get("pg_cpu_s") is None:
        return None
    return (res["pg_cpu_s"] + (res.get("gate_cpu_s") or 0)) / res["transactions"] * 1e6


def pg_gate_cpu_us(r):
    res = r["result"]
    if not res.get("transactions") or r["system"] != "tlsgate":
        return None
    return (res.get("gate_cpu_s") or 0) / res["transactions"] * 1e6


def pg_client_cpu_us(r):
    res = r["result"]
    if not res.get("transactions") or res.get("client_cpu_s") is None:
        return None
    return res["client_cpu_s"] / res["transactions"] * 1e6


PG_METRICS = [
    ("tps", "TPS", field("tps"), "high"),
    ("latency_ms", "latency ms", field("latency_ms"), "low"),
    ("conn_ms", "connect ms", field("conn_ms"), "low"),
    ("server_cpu_us", "server CPU µs/tx", pg_server_cpu_us, "low"),
    ("gate_cpu_us", "of which gate", pg_gate_cpu_us, "low"),
    ("client_cpu_us", "client CPU µs/tx", pg_client_cpu_us, "low"),
]


def pgbench_summary(records):
    """The pgbench mode: medians per workload and target, ratios, targets."""
    runs = [r for r in records if r["mode"] == "pgbench"]
    if not runs:
        return None, []
    setup = next((r["result"] for r in records if r["mode"] == "pgbench_setup"), {})
    checks = {r["system"]: r["result"] for r in records if r["mode"] == "pgbench_check"}
    table, ratios, verdicts = {}, {}, []
    for w, _title in PG_WORKLOADS:
        for t, _name in PG_TARGETS:
            rs = [r for r in runs if r["key"] == w and r["system"] == t]
            for key, _h, metric, _b in PG_METRICS:
                st = stats([metric(r) for r in rs])
                if st is not None:
                    table.setdefault(w, {}).setdefault(t, {})[key] = st
        if w not in table:
            continue
        for base in ("pg_tls", "plain"):
            mine, other = table[w].get("tlsgate", {}), table[w].get(base, {})
            out = {}
            for key, *_ in PG_METRICS:
                if key in mine and key in other and other[key]["median"]:
                    out[key] = mine[key]["median"] / other[key]["median"]
            # The ratio within each repetition (the three runs of a repetition
            # are back to back, so drift on the machine cancels out).
            paired = []
            for rep in sorted({r["rep"] for r in runs}):
                a = [r for r in runs if r["key"] == w and r["rep"] == rep and r["system"] == "tlsgate"]
                b = [r for r in runs if r["key"] == w and r["rep"] == rep and r["system"] == base]
                if a and b and a[0]["result"].get("tps") and b[0]["result"].get("tps"):
                    paired.append(a[0]["result"]["tps"] / b[0]["result"]["tps"])
            if paired:
                out["tps_paired"] = stats(paired)
            if out:
                ratios.setdefault(w, {})["tlsgate/" + base] = out
        r = ratios.get(w, {}).get("tlsgate/pg_tls", {})
        if w != "connect" and "tps" in r:
            verdicts.append({
                "target": "pgbench %s TPS" % w, "tlsgate": table[w]["tlsgate"]["tps"]["median"],
                "want": "≥ %.2f× PostgreSQL's own TLS (%s TPS); is %.2f×" % (
                    PG_TARGET_RATIO, fmt(table[w]["pg_tls"]["tps"]["median"]), r["tps"]),
                "ratio_to_best": r["tps"], "ok": r["tps"] >= PG_TARGET_RATIO})
    return {"setup": setup, "checks": checks, "table": table, "ratios": ratios}, verdicts


NATS_TARGETS = [("nats_plain", "plaintext"), ("nats_tls", "nats-server TLS"), ("tlsgate", "tlsgate")]
NATS_TARGET_RATIO = 0.9  # tlsgate's messages/s against nats-server's own TLS


def nats_server_cpu_us(r):
    res = r["result"]
    if not res.get("msgs") or res.get("server_cpu_s") is None:
        return None
    return (res["server_cpu_s"] + (res.get("gate_cpu_s") or 0)) / res["msgs"] * 1e6


def nats_gate_cpu_us(r):
    res = r["result"]
    if not res.get("msgs") or r["system"] != "tlsgate":
        return None
    return (res.get("gate_cpu_s") or 0) / res["msgs"] * 1e6


NATS_METRICS = [
    ("msgs_per_s", "msgs/s", field("msgs_per_s"), "high"),
    ("server_cpu_us", "server CPU µs/msg", nats_server_cpu_us, "low"),
    ("gate_cpu_us", "of which gate", nats_gate_cpu_us, "low"),
]


def natsbench_summary(records):
    """The natsbench mode: medians per target, ratios to nats-server's own TLS."""
    runs = [r for r in records if r["mode"] == "natsbench"]
    if not runs:
        return None, []
    setup = next((r["result"] for r in records if r["mode"] == "natsbench_setup"), {})
    table, ratios = {}, {}
    for t, _name in NATS_TARGETS:
        rs = [r for r in runs if r["system"] == t]
        for key, _h, metric, _b in NATS_METRICS:
            st = stats([metric(r) for r in rs])
            if st is not None:
                table.setdefault(t, {})[key] = st
    for base in ("nats_tls", "nats_plain"):
        mine, other = table.get("tlsgate", {}), table.get(base, {})
        for key, *_ in NATS_METRICS:
            if key in mine and key in other and other[key]["median"]:
                ratios.setdefault("tlsgate/" + base, {})[key] = mine[key]["median"] / other[key]["median"]
    verdicts = []
    r = ratios.get("tlsgate/nats_tls", {})
    if "msgs_per_s" in r:
        verdicts.append({
            "target": "NATS msgs/s", "tlsgate": table["tlsgate"]["msgs_per_s"]["median"],
            "want": "≥ %.2f× nats-server's own TLS (%s msgs/s); is %.2f×" % (
                NATS_TARGET_RATIO, fmt(table["nats_tls"]["msgs_per_s"]["median"]), r["msgs_per_s"]),
            "ratio_to_best": r["msgs_per_s"], "ok": r["msgs_per_s"] >= NATS_TARGET_RATIO})
    return {"setup": setup, "table": table, "ratios": ratios}, verdicts


def print_natsbench(nb):
    st = nb["setup"]
    print("natsbench — nats-server %s, %s messages of %s bytes, 1 publisher + 1 subscriber "
          "(nats.go), %s × interleaved; servers and gate on core %s, load on core %s" % (
              st.get("nats_server", "?"), st.get("msgs", "?"), st.get("size", "?"),
              st.get("reps", "?"), st.get("server_cpu", "?"), st.get("load_cpu", "?")))
    print("  server CPU = nats-server + the gate, per message")
    rows = [["target"] + [m[1] for m in NATS_METRICS]]
    for t, name in NATS_TARGETS:
        if t in nb["table"]:
            rows.append([name] + [cell(nb["table"][t].get(m[0])) for m in NATS_METRICS])
    for k, v in nb["ratios"].items():
        rows.append([k] + [("%.2f×" % v[m[0]]) if m[0] in v else "-" for m in NATS_METRICS])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  ".join(v.rjust(widths[j]) if j else v.ljust(widths[j]) for j, v in enumerate(r)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def print_pgbench(pg):
    st = pg["setup"]
    print("pgbench — PostgreSQL %s, scale %s, -c %s -j %s -T %s, %s × interleaved; "
          "server and gate on core %s, pgbench on core %s; priority %s" % (
              st.get("postgres", "?"), st.get("scale", "?"), st.get("clients", "?"),
              st.get("threads", "?"), st.get("duration_s", "?"), st.get("reps", "?"),
              st.get("server_cpu", "?"), st.get("load_cpu", "?"), st.get("prio", "?")))
    for t, name in PG_TARGETS:
        c = pg["checks"].get(t)
        if c:
            print("  %-9s backend session ssl|version|cipher %s; client TLS %s" % (
                name, c.get("backend_ssl") or "-", c.get("client_tls") or "-"))
    print("  server CPU = PostgreSQL (postmaster and its children) + the gate, per transaction")
    print()
    rows = [["workload", "target"] + [m[1] for m in PG_METRICS]]
    sep = [0]
    for w, title in PG_WORKLOADS:
        if w not in pg["table"]:
            continue
        first = True
        for t, name in PG_TARGETS:
            if t not in pg["table"][w]:
                continue
            rows.append([title if first else "", name] + [
                cell(pg["table"][w][t].get(m[0])) for m in PG_METRICS])
            first = False
        for base, bname in (("pg_tls", "PG TLS"), ("plain", "plaintext")):
            r = pg["ratios"].get(w, {}).get("tlsgate/" + base)
            if r:
                rows.append(["", "tlsgate/" + bname] + [
                    ("%.2f×" % r[m[0]]) if m[0] in r else "-" for m in PG_METRICS])
        sep.append(len(rows) - 1)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  " + "  ".join(v.rjust(widths[j]) if j > 1 else v.ljust(widths[j])
                               for j, v in enumerate(r)))
        if i in sep and i != len(rows) - 1:
            print("  " + "  ".join("-" * w for w in widths))
    for w, _title in PG_WORKLOADS:
        r = pg["ratios"].get(w, {}).get("tlsgate/pg_tls", {})
        if r.get("tps_paired") and r["tps_paired"]["n"] > 1:
            print("  %s: tlsgate/PG TLS TPS within each repetition %s" % (
                w, cell(r["tps_paired"]).replace(" [", "× [").replace("]", "×]")))
    print()


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def paired_to_best(runs, metric, better, peers):
    """tlsgate's value over the best peer's within each repetition: the
    systems of one repetition run back to back, so the machine's drift
    between repetitions cancels out, and the spread of these ratios says how
    far one run's ratio of medians can be trusted."""
    out = []
    for rep in sorted({r["rep"] for r in runs}):
        v = {r["system"]: metric(r) for r in runs if r["rep"] == rep}
        vals = [v[p] for p in peers if v.get(p)]
        if v.get("tlsgate") and vals:
            out.append(v["tlsgate"] / (min(vals) if better == "low" else max(vals)))
    return stats(out)


def spread_note(paired):
    """The paired ratios' range for a target's line; nothing for one repetition."""
    if not paired or paired["n"] < 2:
        return ""
    return "; within each repetition %.2f–%.2f×" % (paired["min"], paired["max"])


def parse_speed(path):
    """openssl speed -mr lines -> per-operation seconds (CPU time based)."""
    out = {}
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            p = line.strip().split(":")
            if p[0] == "+F4" and p[2] == "256":  # ecdsa sign/s, verify/s
                out["ecdsa_p256_sign_s"] = 1 / float(p[3])
                out["ecdsa_p256_verify_s"] = 1 / float(p[4])
            elif p[0] == "+F2" and p[2] == "2048":  # rsa sign/s, verify/s
                out["rsa2048_sign_s"] = 1 / float(p[3])
                out["rsa2048_verify_s"] = 1 / float(p[4])
            elif p[0] == "+F5" and p[2] == "253":  # x25519 op/s
                out["x25519_op_s"] = 1 / float(p[3])
            elif p[0] == "+F" and p[2].upper() == "AES-128-GCM":  # bytes/s per block size
                out["aes128gcm_bytes_per_s"] = float(p[-1])
    limits = {}
    if "x25519_op_s" in out:
        x = out["x25519_op_s"]
        # A TLS 1.3 server: one X25519 keygen and one derive per handshake
        # (keygen counted at the cost of a derive), plus one signature when full.
        limits["resumed_s"] = 2 * x
        if "ecdsa_p256_sign_s" in out:
            limits["full_s"] = out["ecdsa_p256_sign_s"] + 2 * x
        if "rsa2048_sign_s" in out:
            limits["full_rsa_s"] = out["rsa2048_sign_s"] + 2 * x
    if "aes128gcm_bytes_per_s" in out:
        # The gate encrypts each byte once in one direction (decrypts in the other).
        limits["bulk_s_per_gb"] = 1e9 / out["aes128gcm_bytes_per_s"]
    return {"raw": out, "limits": limits}


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return "%.0f" % v
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    return "%.2f" % v


def cell(s):
    if s is None:
        return "-"
    if s["n"] == 1:
        return fmt(s["median"])
    return "%s [%s–%s]" % (fmt(s["median"]), fmt(s["min"]), fmt(s["max"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--speed")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    records = []
    with open(args.raw) as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))

    speed = parse_speed(args.speed)
    limits = speed.get("limits", {})

    # Per system and column: median, min, max over repetitions.
    table = {}
    for key, _title, mode, metric, _better in COLUMNS:
        for system in SYSTEMS:
            rs = [r for r in records if r["system"] == system and r["mode"] == mode]
            s = stats([metric(r) for r in rs])
            if s is not None:
                table.setdefault(system, {})[key] = s
    systems = [s for s in SYSTEMS if s in table]
    columns = [c for c in COLUMNS if any(c[0] in table[s] for s in systems)]

    ratios = {}
    if "tlsgate" in table:
        for peer in [p for p in PEERS if p in table]:
            for key, *_ in columns:
                a = table["tlsgate"].get(key)
                b = table[peer].get(key)
                if a and b and b["median"]:
                    ratios.setdefault(peer, {})[key] = a["median"] / b["median"]

    # Cost as a multiple of the crypto limit.
    crypto = {}
    for system in systems:
        t = table[system]
        for key, limit in (("full_cpu_us", "full_s"), ("resumed_cpu_us", "resumed_s"),
                           ("rsa_cpu_us", "full_rsa_s")):
            if key in t and limit in limits:
                crypto.setdefault(system, {})[key] = t[key]["median"] / 1e6 / limits[limit]
        if "bulk_cpu_s_per_gb" in t and "bulk_s_per_gb" in limits:
            crypto.setdefault(system, {})["bulk_cpu_s_per_gb"] = (
                t["bulk_cpu_s_per_gb"]["median"] / limits["bulk_s_per_gb"])

    # Targets.
    verdicts = []
    tg = table.get("tlsgate", {})
    peers_here = [p for p in PEERS if p in table]
    for key, limit, how in TARGETS:
        if key not in tg or not peers_here:
            continue
        peer_vals = {p: table[p][key]["median"] for p in peers_here if key in table[p]}
        if not peer_vals:
            continue
        mine = tg[key]["median"]
        better = dict((c[0], c[4]) for c in COLUMNS)[key]
        best_peer = (min if better == "low" else max)(peer_vals, key=peer_vals.get)
        best = peer_vals[best_peer]
        if how == "le":
            ok = mine <= limit * best
            want = "≤ %.2f× %s (%s)" % (limit, best_peer, fmt(best))
        elif how == "ge":
            ok = mine >= limit * best
            want = "≥ %s (%s)" % (best_peer, fmt(best))
        else:
            ok = all(mine < v for v in peer_vals.values())
            want = "< every peer (best %s %s)" % (best_peer, fmt(best))
        column = next(c for c in COLUMNS if c[0] == key)
        paired = paired_to_best([r for r in records if r["mode"] == column[2]], column[3],
                                better, peers_here)
        verdicts.append({"target": key, "tlsgate": mine, "want": want + spread_note(paired),
                         "ratio_to_best": mine / best if best else None,
                         "paired_to_best": paired, "ok": ok})

    scaling = None
    sc = [r for r in records if r["mode"] == "scaling"]
    if sc:
        by = {}
        for r in sc:
            by.setdefault(r.get("threads"), []).append(r)
        r1 = stats([field("rate")(r) for r in by.get(1, [])])
        r2 = stats([field("rate")(r) for r in by.get(2, [])])
        c1 = stats([cpu_per_op_us(r) for r in by.get(1, [])])
        c2 = stats([cpu_per_op_us(r) for r in by.get(2, [])])
        def busy(r):  # share of its threads' cores the system used
            res = r["result"]
            if not res.get("seconds") or "cpu_s" not in res:
                return None
            return res["cpu_s"] / res["seconds"] / (r.get("threads") or 1)

        u1 = stats([busy(r) for r in by.get(1, [])])
        u2 = stats([busy(r) for r in by.get(2, [])])
        scaling = {"threads1_rate": r1, "threads2_rate": r2,
                   "threads1_cpu_us": c1, "threads2_cpu_us": c2,
                   "threads1_busy": u1, "threads2_busy": u2}
        def share(r):  # what the busiest thread carried of the two busiest
            t = r["result"].get("thread_cpu_s") or []
            return t[0] / (t[0] + t[1]) if len(t) >= 2 and t[0] + t[1] > 0 else None

        top = stats([share(r) for r in by.get(2, [])])
        scaling["threads2_busiest_share"] = top
        if c1 and c2 and top and c2["median"] and top["median"]:
            # With two free cores the busiest worker sets the pace: it does
            # `top` of the handshakes at c2 each, where one thread did all at c1.
            scaling["projected"] = c1["median"] / c2["median"] / top["median"]
        if r1 and r2 and r1["median"]:
            scaling["ratio"] = r2["median"] / r1["median"]
            # The measured ratio means something only when both runs kept
            # their workers busy; on two cores the load usually cannot.
            bound = (u1 is not None and u1["median"] >= 0.9 and u2 is not None
                     and u2["median"] >= 0.9)
            scaling["server_bound"] = bound
            if bound or scaling["ratio"] >= 1.8 or "projected" not in scaling:
                verdicts.append({"target": "scaling", "tlsgate": scaling["ratio"],
                                 "want": "≥ 1.8× one thread (RSA-2048 handshakes/s)" + (
                                     "" if bound else "; not server-bound, see above"),
                                 "ok": scaling["ratio"] >= 1.8})
            else:
                verdicts.append({"target": "scaling (projected)", "tlsgate": scaling["projected"],
                                 "want": "≥ 1.8×; measured %.2f× was load-bound (threads busy "
                                 "%.0f%% with one, %.0f%% with two)" % (
                                     scaling["ratio"], 100 * (u1["median"] if u1 else 0),
                                     100 * (u2["median"] if u2 else 0)),
                                 "ok": scaling["projected"] >= 1.8})

    reload = None
    rl = [r for r in records if r["mode"] == "reload"]
    if rl:
        res = rl[-1]["result"]
        reload = {
            "rotations": res.get("rotations"),
            "median_ms": (res.get("delay_p50_us") or 0) / 1e3 if res.get("delay_samples") else None,
            "max_ms": (res.get("delay_max_us") or 0) / 1e3 if res.get("delay_samples") else None,
            "timeouts": res.get("timeouts"),
            "handshakes": res.get("handshakes"),
            "failures": res.get("failures"),
            "delays_ms": res.get("delays_ms"),
        }
        ok = (reload["median_ms"] is not None and reload["median_ms"] <= 1000
              and reload["max_ms"] <= 2000 and not reload["failures"] and not reload["timeouts"])
        verdicts.append({"target": "reload", "tlsgate": reload["median_ms"],
                         "want": "median ≤ 1000 ms, max ≤ 2000 ms, 0 failures", "ok": ok})

    pgbench, pg_verdicts = pgbench_summary(records)
    verdicts += pg_verdicts
    natsbench, nats_verdicts = natsbench_summary(records)
    verdicts += nats_verdicts
    pingpong, pp_verdicts = pingpong_summary(records)
    verdicts += pp_verdicts
    redisbench, redis_verdicts = redisbench_summary(records)
    verdicts += redis_verdicts

    issues = []
    for r in records:
        p = problems(r)
        if p:
            issues.append("%s rep %s %s%s: %s" % (
                r["system"], r["rep"], r["mode"],
                " " + r["key"] if r["mode"] in ("pgbench", "redisbench") else
                " %s conns" % r.get("conns") if r["mode"] == "pingpong" else "", "; ".join(p)))

    # ---- print ----
    meta = {k[len("BENCH_META_"):].lower(): v for k, v in os.environ.items()
            if k.startswith("BENCH_META_")}
    print()
    print("tlsgate bench — %s, %s cores, kernel %s" % (
        meta.get("cpu", "?"), meta.get("cores", "?"), meta.get("kernel", "?")))
    print("%s" % meta.get("settings", ""))
    if meta.get("syscall_ns"):
        print("one trivial system call costs %.0f ns on this machine (getppid)"
              % float(meta["syscall_ns"]))
    print("median [min–max] over repetitions; CPU = the system's own utime+stime per operation")
    print()
    if systems:
        titles = ["system"] + [c[1] for c in columns]
        rows = [titles]
        for s in systems:
            rows.append([s] + [cell(table[s].get(c[0])) for c in columns])
        for peer in [p for p in PEERS if p in ratios]:
            rows.append(["tlsgate/" + peer] + [
                ("%.2f×" % ratios[peer][c[0]]) if c[0] in ratios[peer] else "-" for c in columns])
        widths = [max(len(r[i]) for r in rows) for i in range(len(titles))]
        for i, r in enumerate(rows):
            print("  ".join(v.rjust(widths[j]) if j else v.ljust(widths[j])
                            for j, v in enumerate(r)))
            if i == 0 or i == len(systems):
                print("  ".join("-" * w for w in widths))
        print()
    if crypto:
        print("cost as a multiple of the crypto limit (openssl speed, CPU time, same core):")
        lim = []
        if "full_s" in limits:
            lim.append("full ECDSA hs %.1f µs" % (limits["full_s"] * 1e6))
        if "resumed_s" in limits:
            lim.append("resumed hs %.1f µs" % (limits["resumed_s"] * 1e6))
        if "full_rsa_s" in limits:
            lim.append("full RSA hs %.1f µs" % (limits["full_rsa_s"] * 1e6))
        if "bulk_s_per_gb" in limits:
            lim.append("AES-128-GCM %.3f s/GB" % limits["bulk_s_per_gb"])
        print("  limit: " + ", ".join(lim))
        for s in systems:
            if s in crypto:
                print("  %-8s " % s + ", ".join(
                    "%s %.1f×" % (k.replace("_cpu_us", "").replace("_cpu_s_per_gb", ""), v)
                    for k, v in crypto[s].items()))
        print()
    if scaling and "ratio" in scaling:
        print("scaling (tlsgate, RSA-2048 handshakes/s): 1 thread %s, 2 threads %s: %.2f×; "
              "threads busy %s and %s" % (
                  cell(scaling["threads1_rate"]), cell(scaling["threads2_rate"]), scaling["ratio"],
                  "%.0f%%" % (100 * u1["median"]) if u1 else "-",
                  "%.0f%%" % (100 * u2["median"]) if u2 else "-"))
        if "projected" in scaling:
            print("  with two free cores: %.2f× (CPU per handshake %s µs with 1 thread, %s µs "
                  "with 2; the busier worker took %.0f%% of the work)" % (
                      scaling["projected"], fmt(scaling["threads1_cpu_us"]["median"]),
                      fmt(scaling["threads2_cpu_us"]["median"]),
                      100 * scaling["threads2_busiest_share"]["median"]))
    if reload:
        print("reload (tlsgate, %s rotations): median %s ms, max %s ms, %s timeouts, "
              "%s handshake failures in %s handshakes" % (
                  reload["rotations"], fmt(reload["median_ms"]), fmt(reload["max_ms"]),
                  reload["timeouts"], reload["failures"], reload["handshakes"]))
    if pingpong:
        print()
        print_pingpong(pingpong)
    if redisbench:
        print()
        print_redisbench(redisbench)
    if pgbench:
        print()
        print_pgbench(pgbench)
    if natsbench:
        print()
        print_natsbench(natsbench)
    if verdicts:
        print()
        print("targets:")
        for v in verdicts:
            print("  %-4s %-20s tlsgate %s; want %s" % (
                "ok" if v["ok"] else "MISS", v["target"], fmt(v["tlsgate"]), v["want"]))
    if issues:
        print()
        print("runs that were not clean:")
        for i in issues:
            print("  " + i)

    result = {
        "meta": meta,
        "crypto": speed,
        "table": table,
        "ratios": ratios,
        "crypto_multiple": crypto,
        "scaling": scaling,
        "reload": reload,
        "pgbench": pgbench,
        "natsbench": natsbench,
        "pingpong": pingpong,
        "redisbench": redisbench,
        "targets": verdicts,
        "issues": issues,
        "records": records,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
    print()
    print("results: %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
