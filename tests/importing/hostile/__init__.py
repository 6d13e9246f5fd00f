"""Hostile import corpus (issue 19): structure, key normalisation, names, amounts and signs."""
