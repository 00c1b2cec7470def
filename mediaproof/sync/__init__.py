"""Projects that sync across devices: the pure core (project ids, manifests and their canonical encoding, the
three-way merge). No network, disk or clock here; the CLI and services wrap it."""
