"""The network attacker's capabilities by name, shared by process models and security protocols.

A module of its own so that the command line, the analysis and the security front end can name them without
importing the runtime of process models (checker/process/network.py and the values it orders messages by).
"""

#: The attacker's capabilities, in the order the seeds list the threats.
CAPABILITIES = ("eavesdrop", "drop", "modify", "replay", "masquerade")
