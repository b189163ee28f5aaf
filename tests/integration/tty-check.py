#!/usr/bin/python3
"""tty-check.py COLS TRANSCRIPT: what a person at a COLS-wide terminal saw of a gpubase run
(pty-run.py's transcript) holds to gpubase(1)'s OUTPUT section. Prints each problem and exits 1:
  - a line (or an in-place status line between two carriage returns) wider than COLS - 1 columns
    (gpubase's messages on stderr, "gpubase: ...", are text that wraps and are not counted)
  - a line of dpkg's own ("Unpacking", "Setting up", "Selecting previously unselected") anywhere
  - an install count ("[6/13]") in a status line: apt's progress is a bar that only grows
  - a bar whose percentage went back within one install
  - step lines whose state column does not start at one column for every step
Prints the step lines (as finally shown) on stdout for the caller's own checks."""
import re
import sys

ESC = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# dpkg's own lines ("Unpacking nvidia-open (595.45.01-1) ...", "Setting up ..."), not apt's status
# texts in gpubase's bar ("Unpacking nvidia-open (amd64)")
DPKG = re.compile(r"(Unpacking|Setting up) \S+ \([^)]*\) \.\.\.|Selecting previously unselected|Preparing to unpack \.")
STEP = re.compile(r"^\[\d+/\d+\] +\S+ +\S+ +(done|skipped|failed|reboot-requested|interrupted|pending)(?: |…|$)")


def main():
    cols, path = int(sys.argv[1]), sys.argv[2]
    text = open(path, "rb").read().decode("utf-8", "replace").replace("\r\n", "\n")
    problems, steps, state_cols = [], [], set()
    for line in text.split("\n"):
        segments = [ESC.sub("", s) for s in line.split("\r")]
        last_pct = -1
        if segments[0].startswith("gpubase: "):
            continue  # a message on stderr (an error, the reboot notice): text that wraps, never cut
        for seg in segments:
            if not seg:  # the status line was cleared: the next bar starts afresh
                last_pct = -1
            if len(seg) > cols - 1:
                problems.append(f"wider than {cols - 1} columns ({len(seg)}): {seg!r}")
            if DPKG.search(seg):
                problems.append(f"dpkg's own output on the terminal: {seg!r}")
            m = re.match(r"^ +installing +\[[# ]*\] +(\d+)%", seg)
            if m:
                pct = int(m.group(1))
                if pct < last_pct:
                    problems.append(f"the install bar went back from {last_pct}% to {pct}%: {seg!r}")
                last_pct = pct
            elif re.search(r"^ +\[\d+/\d+\] ", seg):
                problems.append(f"an install count in a status line: {seg!r}")
        shown = segments[-1] if segments else ""
        m = STEP.match(shown)
        if m:
            steps.append(shown)
            state_cols.add(m.start(1))
    if len(state_cols) > 1:
        problems.append(f"the state column moves: it starts at columns {sorted(state_cols)}")
    for p in problems:
        print("tty-check: " + p, file=sys.stderr)
    print("\n".join(steps))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
