#!/usr/bin/env python3
"""Registers N numbers (+622100000000 onward) over HTTP with PUT /v1/numbers/{number},
from several keep-alive connections. Every 10th number is API-only, the rest
Coexistence. Usage: register.py HOST:PORT N [CONNECTIONS]"""
import http.client
import json
import sys
import threading
import time

addr, n = sys.argv[1], int(sys.argv[2])
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 4
host, port = addr.split(":")
failures = []


def work(k):
    c = http.client.HTTPConnection(host, int(port))
    for i in range(k, n, conns):
        body = json.dumps({"waba": f"SW{i % 64}", "coexistence": i % 10 != 0, "onboarded_at": "2026-03-01T00:00:00Z"})
        c.request("PUT", f"/v1/numbers/%2B62{2100000000 + i:010d}", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status not in (200, 201):
            failures.append((i, r.status))


start = time.time()
threads = [threading.Thread(target=work, args=(k,)) for k in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
took = time.time() - start
print(f"=> registered {n} numbers in {took:.1f} s ({n / took:.0f}/s); failures: {len(failures)} {failures[:3]}")
sys.exit(1 if failures else 0)
