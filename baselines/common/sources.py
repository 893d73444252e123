"""Source labels the configs' ``sources`` entries share.

A config's ``sources`` (``(field, source)`` pairs) is a dataclass field, so these strings enter
config hashes: one definition keeps every agent's label, and so its hash, the same.
"""

#: A default no paper or original code gives: the suite's choice, marked [choice].
CHOICE = "suite choice [choice]"
