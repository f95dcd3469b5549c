"""Kluis vault: the cryptography and file formats of Kluis, pure and without I/O."""
