#!/usr/bin/env python3
"""benches/serve/results/raw.jsonl -> the markdown table (run.sh)."""
import datetime
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1])]
offline = next(r["sentences_per_s"] for r in rows if r["server"].startswith("minilm embed"))
print(f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; machine load at the end: `{sys.argv[2].strip()}`.\n")
print(f"Offline `minilm embed` over the corpus: **{offline:.0f} sentences/s**.\n")
print("| server | clients × sentences/request | sentences/s | % of offline | p50 ms | p99 ms | peak RSS MB | errors |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    if "run" not in r or r["server"].endswith("overload"):
        continue
    d = r["run"]
    err = d["refused_503"] + d["other_status"] + d["failed"]
    print(f"| {r['server']} | {d['clients']} × {d['batch']} | {d['sentences_per_s']:.0f} | "
          f"{100 * d['sentences_per_s'] / offline:.0f} % | {d['p50_ms']:.1f} | {d['p99_ms']:.1f} | "
          f"{d['peak_rss_kb'] / 1024:.0f} | {err} |")
for r in rows:
    if r["server"].endswith("overload"):
        d = r["run"]
        total = d["ok"] + d["refused_503"] + d["other_status"] + d["failed"]
        print(f"\nOverload (`minilm serve`, requests of 32 offered at {d['rate_offered']:.1f}/s = "
              f"{d['rate_offered'] * 32:.0f} sentences/s for 30 s): {total} requests, {d['ok']} answered 200 "
              f"(p50 {d['p50_ms']:.0f} ms, p99 {d['p99_ms']:.0f} ms), {d['refused_503']} refused 503, "
              f"{d['other_status']} other status, {d['failed']} failed connections; peak RSS "
              f"{d['peak_rss_kb'] / 1024:.0f} MB, {d['end_rss_kb'] / 1024:.0f} MB after; back to normal "
              f"speed {d['recovery_s']:.2f} s after the burst; exit status after SIGTERM {r['exit']}.")
