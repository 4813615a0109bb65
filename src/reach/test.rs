//! Engine tests on small networks written as iptables-save and ip dumps.
