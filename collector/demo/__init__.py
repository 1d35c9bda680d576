"""`roomwatch demo`: a simulated machine room on loopback and a script of faults, so a newcomer
sees incidents open, climb levels, escalate and recover within minutes, in the log, the
console and the wall screen. The simulated devices speak their real protocols on loopback
(SNMP, the Megatec serial protocol on a pseudo-terminal, Modbus TCP, HTTP) and the daemon
polls them with its real probes; nothing here is a shortcut into the daemon."""
