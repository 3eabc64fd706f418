"""Maps: the edges of the registry graph, and their compositions."""

import numpy as np
from autograd import make_vjp

from .._utils.validation import check_scalar
from ..exceptions import InvalidArgumentError

__all__ = ["Map", "IdentityMap", "ComposedMap", "check_power"]


def check_power(power):
    """Validate the Hadamard exponent L (a real number >= 2)."""
    power = check_scalar(power, "power", lower=2)
    if power == float("inf"):
        raise InvalidArgumentError(f"`power` must be a finite number >= 2; got {power!r}")
    return power


def _power_derivatives(u, power):
    """``(L |u|^(L-1) sign(u), L (L-1) |u|^(L-2))``: the entrywise derivatives of
    ``|u|^L`` (of ``u**L`` for even L)."""
    u = np.asarray(u, dtype=float)
    if power == 2:
        return 2.0 * u, np.full_like(u, 2.0)
    au = np.abs(u)
    return power * au ** (power - 1) * np.sign(u), power * (power - 1) * au ** (power - 2)


def _linear_derivatives(u, slope):
    """``(slope, 0)`` for every entry: the derivatives of ``x = c + slope * u``."""
    u = np.asarray(u, dtype=float)
    return np.full_like(u, slope), np.zeros_like(u)


def _diagonal_estimate(first, second, grad_x, curvature):
    """``phi'^2 c + |phi'' g|``: the Gauss-Newton diagonal plus the size of the map's
    own curvature term (see :meth:`Map.latent_diagonal`)."""
    return first * first * curvature + np.abs(second * np.asarray(grad_x, dtype=float))


# relative spread of a perturbed initialization (log-normal factor exp(0.1 z))
_INIT_SPREAD = 0.1

class Map:
    """A smooth map ``x = forward(u)`` from a source set onto a target set.

    Subclasses set `source` and `target` (registry node names) and implement `forward`
    with ``autograd.numpy`` (no in-place assignment) and a right inverse `inverse`
    (``forward(inverse(x)) == x`` for every feasible x). `pullback` computes ``J(u)^T g``;
    the default differentiates `forward` with autograd, subclasses override it with a
    closed form that the contract tests check against autograd.

    Parameters
    ----------
    shape : tuple of int
        Shape of x, the map's output.
    """

    source = "real"
    target = "real"
    default_scale = 1.0

    def __init__(self, shape):
        self.shape = tuple(int(s) for s in shape)

    @property
    def latent_shape(self):
        """Shape of the map's input u (the shape of x unless overridden)."""
        return self.shape

    def forward(self, u):
        raise NotImplementedError

    def inverse(self, x):
        raise NotImplementedError

    def pullback(self, u, grad_x):
        vjp, _ = make_vjp(self.forward)(np.asarray(u, dtype=float))
        return vjp(np.asarray(grad_x, dtype=float))

    # Hooks of the geometry the map induces on x. The engines that move in x-space
    # (Riemannian and mirror steps) and the local Lipschitz step rule use them; a map
    # without them raises, and those engines say so.
    def latent_lipschitz(self, u, grad_x, lipschitz):
        """A bound on the curvature of ``F(u) = f(forward(u))`` near `u`, given the
        x-space gradient and the Lipschitz constant of ``grad f`` (per column of a batch)."""
        raise NotImplementedError(f"{type(self).__name__} has no local Lipschitz bound")

    def derivatives(self, u):
        """``(phi'(u), phi''(u))`` entrywise, for a map that acts entry by entry
        (``x_i = phi(u_i)``); the L-BFGS engine builds its diagonal initial matrix from
        them. Maps that couple entries (or change the shape) raise NotImplementedError."""
        raise NotImplementedError(f"{type(self).__name__} is not entrywise")

    def latent_diagonal(self, u, grad_x, curvature):
        """A diagonal estimate of the Hessian of ``F(u) = f(forward(u))`` at `u`, given
        the x-space gradient `grad_x` and a curvature of f (a number, or an array of
        the shape of x): ``phi'(u)^2 c + |phi''(u) g|`` for an entrywise map, the
        diagonal of the Gauss-Newton term plus the size of the map's own curvature
        (the L-BFGS engine's initial matrix). Raises NotImplementedError where the map
        gives no such estimate."""
        return _diagonal_estimate(*self.derivatives(u), grad_x, curvature)

    def metric(self, x):
        """The factor ``M(x)`` of the flow the latent gradient flow induces on x,
        ``x' = -M(x) grad f(x)`` (entrywise)."""
        raise NotImplementedError(f"{type(self).__name__} has no metric")

    def mirror(self, x):
        """The mirror map ``z = grad psi(x)`` of the geometry (entrywise)."""
        raise NotImplementedError(f"{type(self).__name__} has no mirror map")

    def mirror_inverse(self, z):
        """The inverse of :meth:`mirror`."""
        raise NotImplementedError(f"{type(self).__name__} has no mirror map")

    def init(self, scale=None, rng=None):
        """Latent starting point: the identical initialization ``u0 = scale * 1``.

        For Hadamard maps `scale` is the implicit-bias knob: a small scale starts next to
        0 and biases the dynamics to sparse (minimum-l1) solutions. With a Generator
        `rng`, every entry is multiplied by ``exp(0.1 z)``, ``z ~ N(0, 1)``: the same
        scale, without the symmetry of the identical start.
        """
        scale = self.default_scale if scale is None else check_scalar(scale, "init_scale")
        u = np.full(self.latent_shape, scale, dtype=float)
        if rng is not None and scale != 0:
            # break the symmetry of the identical start (a saddle for matrix factors):
            # each entry times exp(0.1 N(0, 1)), same sign, same order of magnitude
            u = u * np.exp(_INIT_SPREAD * rng.standard_normal(u.shape))
        return u

    def __repr__(self):
        return f"{type(self).__name__}(shape={self.shape})"


class IdentityMap(Map):
    """``x = u``: the unconstrained case."""

    default_scale = 0.0

    def forward(self, u):
        return u

    def inverse(self, x):
        return np.array(x, dtype=float)

    def pullback(self, u, grad_x):
        return np.asarray(grad_x, dtype=float)

    def derivatives(self, u):
        return _linear_derivatives(u, 1.0)


class ComposedMap(Map):
    """The composition of maps along a registry path, with the target set's geometry.

    This is what :func:`reparamopt.maps.registry.resolve` returns: ``forward`` applies the
    maps in order, ``inverse`` undoes them in reverse order, ``pullback`` chains the
    maps' pullbacks, and ``contains``, ``project`` and ``optimality`` come from the
    target set.

    Parameters
    ----------
    maps : list of Map
        Maps in order from the latent space; empty for the identity.
    target_set : ConstraintSet
        The set the composition reaches.
    """

    def __init__(self, maps, target_set):
        super().__init__(target_set.shape)
        self.maps = list(maps) or [IdentityMap(target_set.shape)]
        self.target_set = target_set
        self.source = self.maps[0].source
        self.target = target_set.name

    @property
    def latent_shape(self):
        return self.maps[0].latent_shape

    @property
    def latent_size(self):
        return int(np.prod(self.latent_shape))

    @property
    def path(self):
        """The registry nodes the composition goes through."""
        return [self.maps[0].source] + [m.target for m in self.maps if not isinstance(m, IdentityMap)]

    def forward(self, u):
        if len(self.maps) == 1:
            return self.maps[0].forward(u)
        for m in self.maps:
            u = m.forward(u)
        return u

    def inverse(self, x):
        for m in reversed(self.maps):
            x = m.inverse(x)
        return x

    def pullback(self, u, grad_x):
        if len(self.maps) == 1:
            return self.maps[0].pullback(u, grad_x)
        values = [np.asarray(u, dtype=float)]
        for m in self.maps[:-1]:
            values.append(m.forward(values[-1]))
        g = grad_x
        for m, value in zip(reversed(self.maps), reversed(values)):
            g = m.pullback(value, g)
        return g

    def init(self, scale=None, rng=None):
        return self.maps[0].init(scale, rng)

    def _single(self, hook):
        if len(self.maps) != 1:
            raise NotImplementedError(f"{self!r} composes several maps: no {hook}")
        return getattr(self.maps[0], hook)

    def latent_lipschitz(self, u, grad_x, lipschitz):
        return self._single("latent_lipschitz")(u, grad_x, lipschitz)

    def latent_diagonal(self, u, grad_x, curvature):
        """The maps' estimates chained from x back to u: each map turns the estimate
        and the gradient at its output into those at its input."""
        if len(self.maps) == 1:
            return self.maps[0].latent_diagonal(u, grad_x, curvature)
        values = [np.asarray(u, dtype=float)]
        for m in self.maps[:-1]:
            values.append(np.asarray(m.forward(values[-1])))
        g, h = np.asarray(grad_x, dtype=float), curvature
        for m, value in zip(reversed(self.maps), reversed(values)):
            h = m.latent_diagonal(value, g, h)
            g = m.pullback(value, g)
        return h

    def derivatives(self, u):
        """The chain rule through the maps: ``(f o g)' = f'(g) g'`` and
        ``(f o g)'' = f''(g) g'^2 + f'(g) g''``."""
        if len(self.maps) == 1:
            return self.maps[0].derivatives(u)
        value = np.asarray(u, dtype=float)
        first, second = np.ones_like(value), np.zeros_like(value)
        for m in self.maps:
            d1, d2 = m.derivatives(value)
            first, second = d1 * first, d2 * first ** 2 + d1 * second
            value = np.asarray(m.forward(value))
        return first, second

    def metric(self, x):
        return self._single("metric")(x)

    def mirror(self, x):
        return self._single("mirror")(x)

    def mirror_inverse(self, z):
        return self._single("mirror_inverse")(z)

    def contains(self, x, atol=1e-8):
        return self.target_set.contains(x, atol)

    def project(self, x):
        return self.target_set.project(x)

    def optimality(self, x, grad_x):
        return self.target_set.optimality(x, grad_x)

    def __repr__(self):
        return f"ComposedMap({' -> '.join(self.path)}, shape={self.shape})"
