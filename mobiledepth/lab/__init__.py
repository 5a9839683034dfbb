"""A device lab on Ray: a fleet file of hosts and their phones (fleet.py), Ray nodes that advertise the phones
they hold (cluster.py), sweeps of files x phones x delegates x threads with a results store that remembers
(plan.py, store.py, jobs.py, sweep.py, progress.py), and the fleet's status (status.py)."""
