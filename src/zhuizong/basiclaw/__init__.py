"""Basic law (基本法): the rank ladder and its assessment rules, evaluated over windows.

``config`` reads and validates a rule file (TOML) into frozen models, ``engine`` evaluates every
agent against the rules of their rank in bulk, ``service`` stores, freezes, lists and applies the
results under an actor's scope, ``signals`` derives tracking signals. See ``docs/basic-law.md``.
"""
