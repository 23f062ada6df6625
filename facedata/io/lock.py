"""One writer per folder: an advisory lock file that names its holder.

The lock is ``fcntl.flock`` on ``<folder>/.facedata.lock``. The kernel drops it when the
holder dies, however it dies (``kill -9``, OOM killer, power loss of a local disk), so a crash
never leaves a lock behind that someone must remove by hand; the file itself then names the
last holder and is taken over by the next writer. While held, the file holds the holder's pid,
host and start time, so a second writer can say who holds it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from ..errors import FacedataError

LOCK_NAME = ".facedata.lock"


class FolderLockedError(FacedataError):
    """Another process holds the folder's lock."""


class FolderLock:
    """Hold ``<folder>/.facedata.lock`` while a build writes into the folder.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with FolderLock(folder) as lock:
    ...     sorted(lock.holder())
    ['host', 'pid', 'started']
    """

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`FolderLockedError` naming the holder."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                    raise
                raise FolderLockedError(self._held_message()) from None
            # The previous holder may have unlinked the file between our open and our flock:
            # then we hold a lock on a name nobody else sees, so try again on the new file.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd

    def held_by(self) -> dict | None:
        """The holder's record while another process holds the lock, else ``None``.

        Takes nothing: a reader (``verify``) uses it to warn that a build is running.
        """
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return self.holder()
        finally:
            os.close(fd)  # closing drops a shared lock taken just now
        return None

    def holder(self) -> dict:
        """The holder's record (``pid``, ``host``, ``started``); empty when unreadable."""
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def _held_message(self) -> str:
        who = self.holder()
        since = time.strftime("%H:%M:%S", time.localtime(who["started"])) if who else "?"
        return (
            f"{self.path.parent} is being built by process {who.get('pid', '?')} on "
            f"{who.get('host', '?')} (since {since}); wait for it to finish, or build into "
            "another folder"
        )

    def release(self) -> None:
        """Drop the lock and remove the file."""
        if self._fd is None:
            return
        # Unlink while still holding the lock, so nobody takes over a name about to vanish.
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
