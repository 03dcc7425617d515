#!/usr/bin/env python3
"""Streams edits to a waystation server: a new courier station at a random point in
China every 1/RATE seconds, for SECONDS, with an admin TOKEN; prints what was
committed. Used by benches/edits_under_load.sh and benches/tiles_under_edits.sh.

    benches/stream_edits.py URL TOKEN RATE SECONDS
"""
import json, random, sys, time, urllib.request
url, token, rate, secs = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
end, sent, failed = time.time() + secs, 0, 0
while time.time() < end:
    t = time.time()
    body = json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [random.uniform(100, 120), random.uniform(25, 40)]},
                       "properties": {"layer": "courier_station", "name": f"负载测试 {t}", "source": "bench", "position_accuracy": "surveyed", "synthetic": False}}).encode()
    req = urllib.request.Request(url + "/api/v1/features", data=body, method="POST", headers={"Authorization": "Bearer " + token})
    try:
        urllib.request.urlopen(req).read(); sent += 1
    except Exception:
        failed += 1
    time.sleep(max(0.0, 1.0 / rate - (time.time() - t)))
print(f"edits: {sent} committed, {failed} failed ({sent / secs:.1f}/s)", file=sys.stderr)
