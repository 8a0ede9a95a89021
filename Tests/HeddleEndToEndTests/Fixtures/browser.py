#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (a stdlib WebSocket client), one page,
through steps given as arguments:

    browser.py STEP...

    open:URL          load URL in a 1400-pixel-wide window
    wait:JS           evaluate JS every 200 ms until it is truthy (60 s at most)
    eval:JS           print "EVAL <json of the value>"
    shot:PATH         a PNG of the whole page
    text:PATH         the page's visible text (document.body.innerText)
    touch:PATH        create PATH (tells the test a step was reached)
    waitfile:PATH     wait until PATH exists (the test's go-ahead), 120 s at most

Prints "OK <step>" after each step and "DONE" at the end; on a failed step prints why and the
page's text, and exits 1. Chromium runs in a process group of its own with a temporary
profile; both go when the script ends (and Chromium is killed if the script is)."""
import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

WIDTH = 1400


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no chromium: apt-get install chromium")


class WebSocket:
    def __init__(self, url):
        match = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        host, port, path = match.group(1), int(match.group(2)), match.group(3)
        self.sock = socket.create_connection((host, port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("DevTools refused the WebSocket: " + head.decode(errors="replace"))
        self.buffer = b""

    def send(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _exact(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self):
        message = b""
        while True:
            first, second = self._exact(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(length)
            opcode = first & 0x0F
            if opcode == 8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode in (9, 10):
                continue
            message += payload
            if first & 0x80:
                return message.decode()


class Page:
    def __init__(self, socket_url):
        self.ws = WebSocket(socket_url)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            return None
        return result.get("result", {}).get("value")


def die_with_parent():
    """Chromium gets SIGKILL when this script dies, even by SIGKILL (Linux prctl)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def become_subreaper():
    """Chromium's helpers are reparented to this script when Chromium dies, so that stop()
    reaps them all (Linux PR_SET_CHILD_SUBREAPER)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(36, 1)
    except OSError:
        pass


def reap_children(timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def main():
    steps = sys.argv[1:]
    become_subreaper()
    profile = tempfile.mkdtemp(prefix="heddle-browser-")
    chromium = subprocess.Popen(
        [find_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
         "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", f"--window-size={WIDTH},1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=die_with_parent)

    def stop(*_):
        try:
            os.killpg(chromium.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        chromium.wait()
        reap_children()
        shutil.rmtree(profile, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(1)))
    page = None
    try:
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            line = chromium.stderr.readline().decode(errors="replace")
            if not line and chromium.poll() is not None:
                sys.exit("chromium exited before DevTools listened")
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if found:
                port = int(found.group(1))
        if port is None:
            sys.exit("chromium's DevTools did not start within 60 s")
        # Keep reading chromium's log so that it never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in iter(chromium.stderr.readline, b"")], daemon=True).start()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        target = next(t for t in targets if t.get("type") == "page")
        page = Page(target["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Runtime.enable")
        for step in steps:
            kind, _, argument = step.partition(":")
            if kind == "open":
                page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=1000, deviceScaleFactor=1, mobile=False)
                page.call("Page.navigate", url=argument)
            elif kind == "wait":
                deadline = time.time() + 60
                while not page.evaluate(argument):
                    if time.time() > deadline:
                        print(f"FAILED {step}: not true within 60 s; the page shows:\n{page.evaluate('document.body && document.body.innerText')}")
                        sys.exit(1)
                    time.sleep(0.2)
            elif kind == "eval":
                print("EVAL " + json.dumps(page.evaluate(argument)))
            elif kind == "shot":
                height = int(page.evaluate("Math.ceil(document.documentElement.scrollHeight)") or 1000)
                page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=height, deviceScaleFactor=1, mobile=False)
                shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
                with open(argument, "wb") as file:
                    file.write(base64.b64decode(shot["data"]))
                page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=1000, deviceScaleFactor=1, mobile=False)
            elif kind == "text":
                with open(argument, "w") as file:
                    file.write(page.evaluate("document.body.innerText") or "")
            elif kind == "touch":
                open(argument, "w").close()
            elif kind == "waitfile":
                deadline = time.time() + 120
                while not os.path.exists(argument):
                    if time.time() > deadline:
                        print(f"FAILED {step}: the file did not appear within 120 s")
                        sys.exit(1)
                    time.sleep(0.1)
            else:
                print(f"FAILED {step}: unknown step")
                sys.exit(1)
            print(f"OK {kind}", flush=True)
        print("DONE", flush=True)
    finally:
        stop()


if __name__ == "__main__":
    main()
