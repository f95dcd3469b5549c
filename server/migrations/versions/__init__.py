"""One file per schema revision, oldest first (docs/deployment.md, "Schema changes")."""
