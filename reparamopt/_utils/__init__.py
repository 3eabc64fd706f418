"""Private helpers shared by every layer: validation, progress bars, name registries."""
