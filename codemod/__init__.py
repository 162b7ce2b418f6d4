"""codemod: find the anti-patterns of a Go test-writing guide and rewrite them with safe edits."""

__version__ = "0.1.0"
