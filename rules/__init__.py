"""Rules: the rule-file format, its loader and validator, and the fault state machine."""

from rules.fault import Fault, FaultState, Suppression, fault_key

__all__ = ["Fault", "FaultState", "Suppression", "fault_key"]
