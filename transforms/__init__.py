"""One module per transform. Each defines a `codemod.transform.Transform` subclass; discovery registers it."""
