"""JupyterHub for a class on one server (deploy/jupyterhub): instance, REST client, accounts."""
