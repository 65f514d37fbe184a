"""Ctrl-C during fit sets the call's cancel flag instead of raising.

The library polls ``bgm_fit_options.cancel`` after every batch. While fit
runs, the main thread is inside C; Python's C-level signal handler only
records the signal, and the Python-level handler runs the next time the main
thread executes Python code. fit always passes the library a small Python
callback that runs after every batch (bigmodel._training.FitRun._recorder), so
the handler below runs there, between two batches, and the library stops
right after.

Only the main thread may install signal handlers: elsewhere the context does
nothing and Ctrl-C behaves as usual.
"""
import signal
import threading

__all__ = ["CancelOnSigint"]


class CancelOnSigint:
    """``with CancelOnSigint(flag):`` a SIGINT stores 1 into the ctypes c_int flag
    and sets ``.hit`` instead of raising KeyboardInterrupt; the previous handler
    is restored on exit."""

    def __init__(self, flag):
        self.flag = flag
        self.hit = False
        self._previous = None
        self._installed = False

    def _handler(self, signum, frame):
        self.flag.value = 1
        self.hit = True

    def __enter__(self):
        # getsignal() is None for a handler installed outside Python, which could
        # not be put back: leave that one alone.
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is not None):
            try:
                self._previous = signal.signal(signal.SIGINT, self._handler)
                self._installed = True
            except (ValueError, OSError):  # not the main interpreter
                pass
        return self

    def __exit__(self, *exc):
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
        return False
