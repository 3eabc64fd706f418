"""Problem-specific solvers that run in the shared loop: the alternating NMF solvers
(:mod:`.nmf`)."""
