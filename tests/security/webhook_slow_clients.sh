#!/usr/bin/env bash
# Hole 6 (the webhook receiver): slow clients must not lock providers out. 200 connections that send
# their request a byte at a time (more than the receiver has slots) used to hold every slot for ever
# (a timeout per read, not per request), so every delivery got 503. Now a request has 10 s in all,
# and when the slots are full the connection that has been reading the longest makes room: a
# complete request arriving meanwhile is answered at once.
. "$(dirname "$0")/lib.sh"

: "${TETHER_WEBHOOK_URL:?TETHER_WEBHOOK_URL is not set (scripts/test sets it)}"
python3 - "$TETHER_WEBHOOK_URL" <<'PY'
import socket, sys, threading, time, urllib.request, urllib.error
host, port = sys.argv[1].split("//")[1].split(":")
port = int(port)
stop = threading.Event()
cut = []

def slow():
    s = socket.create_connection((host, port))
    s.settimeout(30)
    head = b"POST /webhooks/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
    try:
        for b in head:
            if stop.is_set():
                break
            s.sendall(bytes([b]))
            time.sleep(0.5)
        cut.append("sent all")
    except OSError:
        cut.append("cut")
    finally:
        s.close()

threads = [threading.Thread(target=slow, daemon=True) for _ in range(200)]
for t in threads:
    t.start()
    time.sleep(0.005)
time.sleep(2)

def probe():
    start = time.time()
    req = urllib.request.Request(sys.argv[1] + "/webhooks/no_such_server", data=b"[]", method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    return status, time.time() - start

for i in range(3):
    status, secs = probe()
    if status != 404 or secs > 5:
        print(f"FAIL: with 200 slow clients connected, a complete request got {status} after {secs:.1f} s")
        sys.exit(1)
print(f"ok: with 200 slow clients connected, complete requests are answered (404 for an unknown server, {secs:.2f} s)")
# The slow ones are cut off (shed for newcomers, or at the 10 s deadline), not served for ever.
deadline = time.time() + 25
while time.time() < deadline and len(cut) < 200:
    time.sleep(0.5)
stop.set()
if cut.count("cut") < 150:
    print(f"FAIL: only {cut.count('cut')} of 200 slow clients were cut off within 25 s")
    sys.exit(1)
print(f"ok: {cut.count('cut')} of 200 slow clients were cut off")
PY
echo "ok: webhook slow clients"
