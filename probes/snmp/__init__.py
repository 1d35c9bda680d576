"""SNMP for roomwatch: the `snmp` probe and the trap receiver.

One job per module, from the wire up:

- `ber`: the lean BER codec (requests out, Response PDUs in, plain-tuple varbinds);
  `usm`: SNMPv3 User-based Security (keys, HMAC, AES-128/DES) for the lean engine.
- `session`: the `SnmpSession` interface, `Target`, the error-status errors.
- `transport`: the UDP socket shared per event loop, resolution, SNMPv3 discovery.
- `lean`: the lean engine's sessions (v1/v2c, v3); `pysnmp_engine`: the pysnmp one;
  `engines`: which engine serves a target.
- `walk`: GET batches, column-parallel walks, the `profile: auto` subtree check; `gaps`: what a
  poll could not read and its time budget (requests retried smaller); `health`: the poll's own
  samples (`snmp.incomplete`, `snmp.garbled`, `snmp.out_of_bounds`).
- `profiles` (and the data files in `shipped_profiles/`): which OIDs a device has and what
  metric each becomes; `mapping`: answers → Samples; `rates`: counter rates.
- `librenms` (one OS definition → a profile), `librenms_files` (a LibreNMS checkout) and
  `librenms_mibs` (the MIB names its definitions use): `roomwatch profiles import librenms`.
- `probe`: `SnmpProbe` and `SnmpSettings`; `traps` and `trap_settings`: the trap receiver.

The shared sockets and pysnmp engines are closed by the probe registry's shutdown hooks.

The package itself imports nothing: its modules import each other by their own names, so
loading one never loads the probe (and no import circle runs through this file).
"""
