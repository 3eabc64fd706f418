"""A small name -> object registry used by engines, methods and schedules."""

from ..exceptions import UnknownNameError

__all__ = ["NameRegistry"]


class NameRegistry:
    """Map names (and aliases) to factories; look-ups accept a name or an object.

    Parameters
    ----------
    kind : str
        What the registry holds, used in error messages ("engine", "method", ...).
    base : type, optional
        Objects that are instances of `base` are accepted as they are.
    """

    def __init__(self, kind, base=None):
        self.kind = kind
        self.base = base
        self._factories = {}
        self._aliases = {}

    def register(self, name, factory, aliases=()):
        self._factories[name] = factory
        for alias in aliases:
            self._aliases[alias] = name
        return factory

    def names(self):
        """Canonical names, sorted."""
        return sorted(self._factories)

    def canonical(self, name, argument=None):
        """Canonical name of `name` (itself or an alias); UnknownNameError otherwise."""
        if isinstance(name, str):
            name_l = name.lower()
            if name_l in self._factories:
                return name_l
            if name_l in self._aliases:
                return self._aliases[name_l]
        valid = ", ".join(repr(n) for n in self.names() + sorted(self._aliases))
        article = "an" if self.kind[:1].lower() in "aeiou" else "a"
        raise UnknownNameError(f"`{argument or self.kind}` must be {article} {self.kind} object "
                               f"or one of {valid}; got {name!r}")

    def get(self, spec, argument=None, **settings):
        """Instantiate `spec` (a name) with `settings`, or return an object as it is."""
        if self.base is not None and isinstance(spec, self.base):
            if settings:
                from dataclasses import replace
                return replace(spec, **settings)
            return spec
        return self._factories[self.canonical(spec, argument)](**settings)
