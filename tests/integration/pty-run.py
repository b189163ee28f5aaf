#!/usr/bin/python3
"""pty-run.py COLS TRANSCRIPT COMMAND...: run COMMAND on a real pseudo-terminal COLS columns wide
(TIOCSWINSZ, as a terminal emulator sets it), copy everything it writes to TRANSCRIPT byte for byte,
and exit with its exit code. What it writes to stderr goes to the same terminal, as on a console."""
import fcntl
import os
import pty
import struct
import sys
import termios


def main():
    cols, transcript, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    pid, fd = pty.fork()
    if pid == 0:
        # the size is set here, on the terminal the command gets, before it starts: set from the
        # parent after the fork, a command quick to ask (under load) saw a 0x0 terminal
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
        os.environ.pop("COLUMNS", None)
        os.execvp(argv[0], argv)
    with open(transcript, "wb") as out:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            out.write(data)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
