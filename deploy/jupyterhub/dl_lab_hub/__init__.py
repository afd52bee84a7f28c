"""The hub's own code, baked into the hub image beside jupyterhub_config.py (on its PYTHONPATH).

allocation: which GPUs and which private subnet a student's server gets (the standard library only);
spawner: DockerSpawner with those, a private network per student and a labelled work volume;
auth: accounts whose password an admin set, never claimed by whoever logs in first.
"""
