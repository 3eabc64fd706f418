"""Optional tqdm progress bars (off unless asked for)."""

__all__ = ["progress_bar"]


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


def progress_bar(enabled, total=None, desc=None):
    """A tqdm bar when `enabled`, else an object that silently ignores updates.

    `enabled` may also be a dict of tqdm keyword arguments.
    """
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    kwargs = dict(enabled) if isinstance(enabled, dict) else {}
    kwargs.setdefault("total", total)
    kwargs.setdefault("desc", desc)
    kwargs.setdefault("leave", False)
    return tqdm(**kwargs)
