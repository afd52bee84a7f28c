"""`make lab`: JupyterLab with the course notebooks on the user's machine."""
