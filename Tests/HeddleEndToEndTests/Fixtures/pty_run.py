#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal, as a user at a terminal would, for Heddle's
end-to-end tests (stdlib only).

  pty_run.py SCRIPT -- COMMAND [ARGS...]

SCRIPT is a comma-separated list of steps: `wait:SECONDS` reads the output for that long,
`key:C` types the character C. After the script it waits up to 10 s for the command to exit.
Prints everything the command wrote to the terminal, then a last line `EXIT <status>`
(`EXIT timeout` if it did not exit; it is then killed).
"""
import os
import pty
import select
import signal
import sys
import time

separator = sys.argv.index("--")
steps = sys.argv[1].split(",")
command = sys.argv[separator + 1:]

pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.execvp(command[0], command)

output = bytearray()


def read_for(seconds):
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            output.extend(data)


for step in steps:
    kind, _, value = step.partition(":")
    if kind == "wait":
        read_for(float(value))
    elif kind == "key":
        os.write(fd, value.encode())

status = "timeout"
end = time.monotonic() + 10
while time.monotonic() < end:
    done, code = os.waitpid(pid, os.WNOHANG)
    if done:
        status = str(os.waitstatus_to_exitcode(code))
        break
    read_for(0.1)
if status == "timeout":
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
read_for(0.2)
sys.stdout.write(output.decode("utf-8", "replace"))
sys.stdout.write(f"\nEXIT {status}\n")
