"""JupyterHub for a class on one server (deploy/jupyterhub), seen from the host.

settings     what an instance is started with: the one place for the hub's defaults
plan         what `hub up` decides before starting anything (image, GPUs, volume size)
instance     start, find, stop and purge an instance (containers, networks, volumes)
client       a running hub's REST API and login form
accounts     students' accounts, each with a password the instructor hands out
credentials  the operator's secrets in build/hub/<instance>/ (mode 0600)
backup       every student's work and the accounts into an archive, and back
gpus         the devices GPU servers are given (`nvidia-smi -L`, MIG instances)

The code that runs inside the hub's container is deploy/jupyterhub/dl_lab_hub/.
"""
